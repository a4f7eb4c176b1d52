/**
 * Keyspace notifications in cluster mode: a node announces only its own keys' changes, so one
 * subscriber connection (and its KeyEventHub) per master. Every waiter is registered on every
 * master's hub; a master that appears (a replica promoted at a failover, a new node after a
 * reshard) gets every registration, a master that is gone (dead or demoted) loses its
 * subscriber. The master set is re-read after each slot refresh of the cluster client, which
 * ioredis runs on a MOVED, a lost node and every `slotsRefreshInterval`.
 *
 * Each subscriber close and each change of the master set moves the epoch: events of that
 * gap may be lost, so waiters re-read (their polling step covers the gap meanwhile).
 */
import { Redis, type Cluster } from 'ioredis';
import type { KeyChange, Unsubscribe } from '../port.js';
import { NotificationSetup, reconnectDelay, type StoreLogger } from './connection.js';
import { KeyEventHub } from './key-events.js';

type Listener = (change: KeyChange) => void;

interface NodeSub {
  key: string;
  /** The cluster client's own connection to the node: CONFIG runs there. */
  node: Redis;
  sub: Redis;
  hub: KeyEventHub;
  setup: NotificationSetup;
  ready: Promise<void>;
}

interface Registration {
  pattern: string;
  listener: Listener;
  keys: readonly string[] | undefined;
  offs: Map<string, Unsubscribe>;
}

const RECHECK_MS = 2000;

const nodeKey = (r: Redis) => `${r.options.host ?? '127.0.0.1'}:${r.options.port ?? 6379}`;

export class ClusterKeyEvents {
  private readonly subs = new Map<string, NodeSub>();
  private readonly regs = new Set<Registration>();
  private epochCount = 0;
  private closed = false;
  private syncing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly cluster: Cluster,
    private readonly logger: StoreLogger,
    private readonly pollStepMs: number,
  ) {
    cluster.on('refresh', () => void this.sync());
    cluster.on('+node', () => void this.sync());
    cluster.on('-node', () => void this.sync());
    // A master set the events missed, or a CONFIG check that failed for a passing reason (a
    // timeout on a loaded node), would otherwise leave a master unheard for good.
    this.timer = setInterval(() => void this.sync(), RECHECK_MS);
    this.timer.unref();
  }

  /** Subscribes on the masters the cluster client knows now; resolves once each is set up. */
  async start(): Promise<void> {
    await this.sync();
  }

  /** True when every master's notifications are known on (the waits then listen as well as poll). */
  active(): boolean {
    if (this.subs.size === 0) return false;
    for (const s of this.subs.values()) if (!s.setup.active) return false;
    return true;
  }

  epoch(): number {
    return this.epochCount;
  }

  /** Runs one reconciliation at a time, each against the master set of its moment. */
  sync(): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.reconcile())
      .catch((err: unknown) => {
        this.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'cluster key events: sync failed',
        );
      });
    return this.syncing;
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const masters = new Map(this.cluster.nodes('master').map((n) => [nodeKey(n), n]));
    const gone = [...this.subs.values()].filter((s) => masters.get(s.key) !== s.node);
    const added = [...masters].filter(([k, n]) => this.subs.get(k)?.node !== n);
    const unchecked = [...this.subs.values()].filter((s) => !s.setup.active && masters.get(s.key) === s.node);
    await Promise.all(unchecked.map((s) => s.setup.ensure(s.node)));
    if (gone.length === 0 && added.length === 0) return;
    this.epochCount++;
    for (const s of gone) {
      this.subs.delete(s.key);
      for (const r of this.regs) r.offs.delete(s.key);
      s.sub.disconnect();
    }
    await Promise.all(added.map(([k, n]) => this.open(k, n)));
    this.logger.info(
      { masters: [...this.subs.keys()].sort() },
      'cluster key events: subscribed on every master',
    );
  }

  private async open(key: string, node: Redis): Promise<void> {
    const { retryStrategy: _r, lazyConnect: _l, ...base } = node.options;
    const sub = new Redis({
      ...base,
      commandTimeout: undefined,
      lazyConnect: false,
      enableAutoPipelining: false,
      retryStrategy: reconnectDelay,
      connectionName: 'quantum-apply-events',
    });
    sub.on('error', () => {});
    // Every close may lose events (pub/sub is not replayed): a new epoch.
    sub.on('close', () => void this.epochCount++);
    const setup = new NotificationSetup(this.logger, this.pollStepMs);
    const entry: NodeSub = {
      key,
      node,
      sub,
      hub: new KeyEventHub(sub, 0, this.logger),
      setup,
      ready: setup.ensure(node),
    };
    // A restarted node forgets CONFIG SET: check again whenever its subscriber reconnects.
    sub.on('ready', () => void setup.ensure(node));
    this.subs.set(key, entry);
    await entry.ready;
    await Promise.all([...this.regs].map((r) => this.attach(r, entry)));
  }

  private async attach(r: Registration, s: NodeSub): Promise<void> {
    try {
      const off = await s.hub.add(r.pattern, r.listener, r.keys);
      if (this.subs.get(s.key) === s && this.regs.has(r)) r.offs.set(s.key, off);
      else await off();
    } catch (err) {
      // The waiter keeps polling; the next close or sync moves the epoch.
      this.epochCount++;
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err), node: s.key },
        'cluster key events: subscribe failed',
      );
    }
  }

  /** Like KeyEventHub.add, on every master; rejects when one of them refuses. */
  async add(pattern: string, listener: Listener, keys?: readonly string[]): Promise<Unsubscribe> {
    await this.syncing;
    const r: Registration = { pattern, listener, keys, offs: new Map() };
    this.regs.add(r);
    const off = async () => {
      this.regs.delete(r);
      const offs = [...r.offs.values()];
      r.offs.clear();
      await Promise.all(offs.map((o) => o()));
    };
    const results = await Promise.allSettled(
      [...this.subs.values()].map(async (s) => r.offs.set(s.key, await s.hub.add(pattern, listener, keys))),
    );
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) {
      await off();
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await off();
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.subs.values()) s.sub.disconnect();
    this.subs.clear();
  }
}
