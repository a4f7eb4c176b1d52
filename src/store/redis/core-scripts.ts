/** consumePermits-N, publishOnce-2 and publishPlan-4 on an ioredis client (scripts.ts loads them). */
import type { CommandClient } from './connection.js';
import type { ConsumeOutcome, PublishPlanOutcome, PublishPlanRequest } from '../port.js';
import {
  defineScript,
  parseConsumeReply,
  parsePublishPlanReply,
  parsePublishReply,
  type ScriptRunner,
} from './scripts.js';
import { fieldArgs } from './streams.js';

export class CoreScripts {
  private readonly inFlight = new Set<() => void>();
  private readonly consume: ScriptRunner;
  private readonly publish: ScriptRunner;
  private readonly plan: ScriptRunner;

  constructor(client: CommandClient) {
    this.consume = defineScript(client, 'consumePermits-N.lua');
    this.publish = defineScript(client, 'publishOnce-2.lua');
    this.plan = defineScript(client, 'publishPlan-4.lua');
    // ioredis never settles a command whose connection closed (autoResend is off) until its
    // timeout; a consume in flight is told at once so the caller can start resolving it.
    client.on('close', () => {
      for (const abandon of [...this.inFlight]) abandon();
    });
  }

  async consumePermits(
    permitKeys: string[],
    receiptKey: string,
    token: string,
    receiptTtlSec: number,
    readTtl: boolean,
  ): Promise<ConsumeOutcome> {
    if (permitKeys.length === 0) throw new Error('consumePermits needs at least one permit key');
    const keys = [receiptKey, ...permitKeys];
    const running = this.consume(keys.length, ...keys, token, receiptTtlSec, readTtl ? '1' : '0');
    let abandon = () => {};
    const dropped = new Promise<never>((_, reject) => {
      abandon = () => reject(new Error('connection closed before the consume reply; outcome unknown'));
    });
    this.inFlight.add(abandon);
    try {
      return parseConsumeReply(await Promise.race([running, dropped]), permitKeys.length);
    } finally {
      this.inFlight.delete(abandon);
    }
  }

  async publishOnce(
    markerKey: string,
    markerTtlSec: number,
    stream: string,
    fields: Record<string, string>,
    maxLen: number,
  ): Promise<string | null> {
    const reply = await this.publish(markerKey, stream, markerTtlSec, maxLen, ...fieldArgs(fields));
    const out = parsePublishReply(reply);
    return out.kind === 'published' ? out.id : null;
  }

  async publishPlan(r: PublishPlanRequest): Promise<PublishPlanOutcome> {
    const reply = await this.plan(
      r.resultMarkerKey,
      // Without dedupe the key is not touched; any key of the plan fills the slot.
      r.dedupe?.key ?? r.resultMarkerKey,
      r.markerKey,
      r.stream,
      r.dedupe ? '1' : '0',
      r.dedupe?.value ?? '',
      r.dedupe?.ttlSec ?? 0,
      r.markerTtlSec,
      r.maxLen,
      ...fieldArgs(r.fields),
    );
    return parsePublishPlanReply(reply);
  }
}
