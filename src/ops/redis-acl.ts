/**
 * The minimal Redis ACL of each service (SECURITY.md "Redis access"): the keys it may read or
 * write and the commands it sends. Tests run every service under these users; operators print
 * them with `aclSetUserArgs` (the keys follow src/store/keys.ts; REDIS_KEY_PREFIX is included).
 *
 * No user gets CONFIG: CONFIG SET can rewrite the server's files, and CONFIG GET reveals
 * requirepass. The administrator enables notify-keyspace-events "K$hgx" once; without CONFIG
 * the services cannot see that it is on, so the apply layer polls (APPLY_PERMIT_STEP_MS,
 * APPLY_POLL_SEC) instead of reacting to key changes.
 */
import { historyStreamKeys } from '../history/rows.js';
import { keySpace } from '../store/keys.js';

export const ACL_SERVICES = ['apply', 'governor', 'p33', 'inspect', 'recorder'] as const;
export type AclService = (typeof ACL_SERVICES)[number];
/**
 * Users with an ACL: the services, and the operator who runs `arm` and `disarm` (it writes the
 * arm state and the change's audit event on the governor decisions stream, nothing else).
 */
export const ACL_ROLES = [...ACL_SERVICES, 'operator'] as const;
export type AclRole = (typeof ACL_ROLES)[number];

/** Every client: ioredis' ready check (INFO), connection name, db selection, server time, Lua. */
const COMMON = ['+ping', '+info', '+client|setname', '+select', '+time', '+evalsha', '+eval'];
const STREAM_READ = ['+xrange', '+xrevrange', '+xlen', '+xinfo|groups', '+xinfo|consumers'];
/** Consuming the plan stream through a group; granted on that stream only (selectors). */
const GROUP_CONSUMER = ['+xgroup|create', '+xreadgroup', '+xack', '+xautoclaim'];

const COMMANDS: Record<AclRole, readonly string[]> = {
  apply: [
    ...COMMON,
    ...['+get', '+mget', '+set', '+del', '+pttl', '+exists', '+hget', '+hgetall', '+hset'],
    // HDEL: the reconciler forgets an order it has settled (quantum:apply:unresolved).
    ...['+hdel', '+expire', '+pexpire', ...STREAM_READ, '+psubscribe', '+punsubscribe'],
    // APPLY_INTENT_WAIT_REPLICAS: WAIT after the order intent write.
    '+wait',
    // The start-up probe that sees keyspace notifications without CONFIG.
    ...['+subscribe', '+unsubscribe'],
  ],
  governor: [
    ...COMMON,
    ...['+get', '+mget', '+set', '+del', '+exists', '+hgetall', '+hset', '+expire'],
    // XADD: its events and decisions streams (the plan stream is refused by the key rules).
    ...['+incrbyfloat', '+lpush', '+lrange', '+ltrim', '+xadd'],
  ],
  p33: [
    ...COMMON,
    ...['+get', '+mget', '+set', '+exists', '+hget', '+hgetall', '+hset', '+expire'],
    // The ledger follower releases a plan's reservation (quantum:p33:reserved:<S>).
    '+hdel',
    // The ledger follows the result stream; XADD on its decisions stream alone (a selector).
    ...['+xrange', '+xrevrange'],
  ],
  inspect: [
    ...COMMON.filter((c) => c !== '+evalsha' && c !== '+eval'),
    ...['+get', '+mget', '+pttl', '+exists', '+hgetall', '+lrange', '+scan', '+type'],
    ...STREAM_READ,
  ],
  // The history recorder: reads the streams it records, through its group (its selector).
  recorder: [...COMMON.filter((c) => c !== '+evalsha' && c !== '+eval'), ...STREAM_READ],
  // HGETALL and HSET on the arm state; XADD on the decisions stream through its selector.
  operator: [...COMMON.filter((c) => c !== '+evalsha' && c !== '+eval'), '+hgetall', '+hset'],
};

/**
 * Key patterns: `~` read and write, `%R~` read only, `%W~` write only (Redis 7). A plan id is
 * 16 hex digits and a canary's `canary-<16 hex>` (PROTOCOL.md "Canary plans"), so
 * `quantum:permit:[0-9a-f]*` is the governor's permit and never P3.3's
 * (`quantum:permit:p33:...`). The authorities' plan stream is in their selectors, not here.
 */
function keyRules(service: AclRole, p: string, cluster: boolean): string[] {
  switch (service) {
    case 'apply':
      return [
        `%R~${p}quantum:harvest:proposal:*`,
        `~${p}quantum:apply:*`,
        // A permit wait without a governor permit names the governor's recorded block reason.
        `%R~${p}quantum:governor:block:*`,
        // Read here; written by XADD alone, through a selector.
        `%R~${p}quantum:stream:apply.plan`,
        `%R~${p}quantum:stream:apply.result`,
        `%R~${p}quantum:stream:apply.reconciled`,
        `%R~${p}quantum:stream:apply.canary`,
        `%R~${p}quantum:stream:apply.orders`,
        `%R~${p}quantum:stream:apply.failover_audit`,
      ];
    case 'governor':
      return [
        // Cluster key mode: quantum:permit:{<symbol>}:<id> (keys.ts).
        cluster ? `~${p}quantum:permit:{*` : `~${p}quantum:permit:[0-9a-f]*`,
        `~${p}quantum:governor:*`,
        `~${p}quantum:stream:governor.events`,
        `~${p}quantum:stream:governor.decisions`,
        // Auto-disarm flips the shared arm state.
        `~${p}quantum:apply:arm`,
      ];
    case 'p33':
      return [
        `%R~${p}quantum:stream:apply.result`,
        // The ledger also follows what apply's reconciler found of orders left unknown.
        `%R~${p}quantum:stream:apply.reconciled`,
        `~${p}quantum:permit:p33:*`,
        `~${p}quantum:p33:*`,
        `~${p}quantum:position:*`,
      ];
    case 'inspect':
      return [`%R~${p}quantum:*`];
    case 'recorder':
      return recordedStreams(p).map((k) => `%R~${k}`);
    case 'operator':
      return [`~${p}quantum:apply:arm`];
  }
}

/** The streams the history recorder follows, with the key prefix (the same names in cluster mode). */
function recordedStreams(p: string): string[] {
  return Object.values(historyStreamKeys(keySpace({ prefix: p })));
}

/** Which services run each Lua script (a test checks every redis.call in it is allowed). */
export const SCRIPT_USERS: Readonly<Record<string, readonly AclService[]>> = {
  'consumePermits-N': ['apply'],
  'publishOnce-2': ['apply'],
  'publishPlan-4': ['apply'],
  'acquireLease-1': ['apply'],
  'acquireLeases-N': ['apply'],
  'releaseLease-1': ['apply'],
  'createIntent-3': ['apply'],
  'grantPermit-5': ['governor'],
  'decideOnce-3': ['governor', 'p33'],
  'grantCloseQty-3': ['p33'],
  'applyLedgerResults-N': ['p33'],
  'seedLedgers-N': ['p33'],
};

/** PSUBSCRIBE patterns are matched literally by Redis ACLs: exactly the store's patterns. */
function channelRules(service: AclRole, p: string, db: number): string[] {
  if (service !== 'apply') return [];
  const ch = `__keyspace@${db}__:`;
  return [
    `&${ch}${p}quantum:harvest:proposal:*`,
    `&${ch}${p}quantum:permit:*`,
    `&${ch}${p}quantum:apply:notify_probe`,
    // The arm state's copy in memory is dropped on a change of the key (ArmStateCache).
    `&${ch}${p}quantum:apply:arm`,
  ];
}

export interface AclOptions {
  /** REDIS_KEY_PREFIX (the fleet: empty). */
  prefix?: string;
  db?: number;
  /** REDIS_CLUSTER: cluster key names, and the CLUSTER subcommands the client needs. */
  cluster?: boolean;
}

/** An ioredis Cluster client reads the slot map and checks the cluster's state. */
const CLUSTER_CLIENT = ['+cluster|slots', '+cluster|info', '+cluster|keyslot'];

/**
 * Redis 7 selectors: a command passes when the root rules or one selector allow it with all its
 * keys; commands inside Lua are checked alike (EVAL with its declared keys, then each redis.call).
 *
 * - apply, permits: consuming a permit reads and deletes it (and writes the receipt in the same
 *   script), but no command that creates a key is allowed on a permit key, so the apply user
 *   cannot mint permits even where signing is off.
 * - apply, streams: it writes the plan and result streams by XADD alone, from its publish
 *   scripts, whose other keys are its own markers (hence `quantum:apply:*` here, which the root
 *   rules grant anyway), and its order events stream by a plain XADD. Its root rules only read the streams: no DEL, SET, EXPIRE or trimming.
 * - authorities, plan stream: they consume it through their groups. XACK and XAUTOCLAIM need
 *   write access to the key, so a read-only key rule is not enough; this selector grants the
 *   group commands alone. A forged plan entry would be judged by both authorities as the apply
 *   layer's, so they must not XADD, overwrite, trim, delete or expire it, nor move its groups.
 *   The group name is no key: an authority can still read or ack the other's group, which
 *   only withholds that authority's permit (no order).
 */
function selectors(service: AclRole, p: string): string[] {
  const plan = `~${p}quantum:stream:apply.plan`;
  switch (service) {
    case 'apply': {
      const permits = `~${p}quantum:permit:* ~${p}quantum:apply:consumed:*`;
      const streams = `${plan} ~${p}quantum:stream:apply.result ~${p}quantum:stream:apply.reconciled ~${p}quantum:stream:apply.canary ~${p}quantum:stream:apply.orders ~${p}quantum:stream:apply.failover_audit ~${p}quantum:apply:*`;
      // Canary requests: the command adds one; the replicas read them through their group.
      const requests = `~${p}quantum:stream:apply.canary_request`;
      return [
        `(${permits} +evalsha +eval +get +mget +exists +pttl +del)`,
        `(${streams} +evalsha +eval +xadd)`,
        `(${requests} +xadd ${GROUP_CONSUMER.join(' ')})`,
      ];
    }
    case 'governor':
      // XINFO GROUPS: its /metrics reports the plan stream's group lag (createStreamMetrics).
      return [`(${plan} ${GROUP_CONSUMER.join(' ')} +xinfo|groups)`];
    case 'p33':
      // Its decisions stream: added, never read, trimmed or deleted.
      return [`(${plan} ${GROUP_CONSUMER.join(' ')})`, `(~${p}quantum:stream:p33.decisions +xadd)`];
    case 'inspect':
      return [];
    case 'recorder':
      // Its group `history` on each stream it records: the group commands need write access to
      // the key, granted here alone; no XADD, trimming, deletion or expiry.
      return [
        `(${recordedStreams(p)
          .map((k) => `~${k}`)
          .join(' ')} ${GROUP_CONSUMER.join(' ')} +xinfo|groups)`,
      ];
    case 'operator':
      // The audit event of an arm change: added, never read, trimmed or deleted.
      return [`(~${p}quantum:stream:governor.decisions +xadd)`];
  }
}

/** The rules after `ACL SETUSER <name> reset on >password` (no password here). */
export function aclRules(service: AclRole, opts: AclOptions = {}): string[] {
  const p = opts.prefix ?? '';
  const cluster = opts.cluster ?? false;
  return [
    ...keyRules(service, p, cluster),
    // Cluster: keyspace notifications are not used (per node), so no channels.
    ...(cluster ? [] : channelRules(service, p, opts.db ?? 0)),
    '-@all',
    ...COMMANDS[service],
    ...(cluster ? CLUSTER_CLIENT : []),
    ...selectors(service, p),
  ];
}

/** Arguments of `ACL SETUSER`: user, reset, on, the password, then the rules. */
export function aclSetUserArgs(
  user: string,
  password: string,
  service: AclRole,
  opts: AclOptions = {},
): string[] {
  return [user, 'reset', 'on', `>${password}`, 'resetchannels', ...aclRules(service, opts)];
}

/**
 * The user the services log in to each sentinel with (REDIS_SENTINEL_USERNAME/PASSWORD): ioredis
 * asks a sentinel for the master's address and the other sentinels, and listens for
 * +switch-master to drop its connections at a failover. Nothing else: a sentinel user that may
 * run SENTINEL FAILOVER or SET could move or misname the master.
 */
export const SENTINEL_CLIENT_RULES = [
  'resetchannels',
  '&+switch-master',
  '-@all',
  '+auth',
  '+hello',
  '+ping',
  '+client|setname',
  '+sentinel|get-master-addr-by-name',
  '+sentinel|sentinels',
  '+subscribe',
] as const;

/** Arguments of `ACL SETUSER` for the sentinel user, run on every sentinel. */
export function sentinelAclSetUserArgs(user: string, password: string): string[] {
  return [user, 'reset', 'on', `>${password}`, ...SENTINEL_CLIENT_RULES];
}
