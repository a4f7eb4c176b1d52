/**
 * `quantum-apply acl [service...]`: the minimal Redis ACL of each service (SECURITY.md) as
 * redis-cli commands for the administrator. Passwords are never printed: a placeholder stands
 * in; REDIS_KEY_PREFIX and the database of REDIS_URL / REDIS_DB are applied.
 */
import { Argument, type Command } from 'commander';
import { loadApplyConfig } from '../../ops/config.js';
import { ACL_ROLES, aclSetUserArgs, sentinelAclSetUserArgs, type AclRole } from '../../ops/redis-acl.js';
import { EXIT_OK, loadOrReport, type CliContext } from '../util.js';

const shellQuote = (s: string) => (/^[A-Za-z0-9_.:@%+=,/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function aclCommands(
  services: readonly AclRole[],
  prefix: string,
  db: number,
  cluster = false,
): string[] {
  return services.map((s) => {
    const args = aclSetUserArgs(`quantum-${s}`, 'PASSWORD', s, { prefix, db, cluster }).map((a) =>
      a === '>PASSWORD' ? `'><${s} password>'` : shellQuote(a),
    );
    return `redis-cli ACL SETUSER ${args.join(' ')}`;
  });
}

/** The sentinel user's ACL SETUSER (placeholder password), for redis-cli against a sentinel. */
export function sentinelAclCommand(user: string): string {
  const args = sentinelAclSetUserArgs(user, 'PASSWORD').map((a) =>
    a === '>PASSWORD' ? `'><sentinel password>'` : shellQuote(a),
  );
  return `redis-cli -p <sentinel port> ACL SETUSER ${args.join(' ')}`;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('acl')
    .description(
      "print each service's (and the arm/disarm operator's) minimal Redis ACL as redis-cli ACL SETUSER commands (no passwords)",
    )
    .addArgument(new Argument('[service...]', 'services, or operator (default: all)').choices([...ACL_ROLES]))
    .action((services: AclRole[]) => {
      const cfg = loadOrReport(ctx, 'acl', loadApplyConfig);
      if (cfg === null) return;
      let db = 0;
      try {
        db = Number(new URL(cfg.redis.url).pathname.slice(1) || 0);
      } catch {
        db = 0;
      }
      const list = services.length > 0 ? services : ACL_ROLES;
      ctx.out(`${aclCommands(list, cfg.redis.keyPrefix, db, cfg.redis.cluster).join('\n')}\n`);
      if (cfg.redis.cluster) ctx.out('# cluster: run these on every node (ACLs are per node)\n');
      const sentinel = cfg.redis.sentinel;
      if (sentinel) {
        ctx.out('# sentinel: run the lines above on the master and every replica (ACLs are per server),\n');
        ctx.out('# and this one on every sentinel (REDIS_SENTINEL_USERNAME / REDIS_SENTINEL_PASSWORD):\n');
        ctx.out(`${sentinelAclCommand(sentinel.username ?? 'quantum-sentinel')}\n`);
      }
      ctx.out('# then: ACL SAVE (aclfile) or CONFIG REWRITE; see SECURITY.md "Redis access"\n');
      ctx.exitCode = EXIT_OK;
    });
}
