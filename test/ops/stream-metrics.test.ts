import { describe, expect, it } from 'vitest';
import { createRegistry, createStreamMetrics, type GroupSource } from '../../src/ops/metrics.js';
import type { GroupInfo } from '../../src/store/port.js';

class FakeGroups implements GroupSource {
  calls: string[] = [];
  fail = false;
  constructor(private readonly byStream: Record<string, GroupInfo[]>) {}
  async groups(stream: string): Promise<GroupInfo[]> {
    this.calls.push(stream);
    if (this.fail) throw new Error('connection lost');
    return this.byStream[stream] ?? [];
  }
}

const group = (name: string, pending: number, lag: number | null): GroupInfo => ({
  name,
  consumers: 1,
  pending,
  lastDeliveredId: '0-0',
  lag,
});

describe('stream group metrics', () => {
  it('when scraped then lag and pending per stream and group come from one read per stream', async () => {
    const source = new FakeGroups({
      'quantum:stream:apply.plan': [group('governor', 2, 5), group('p33', 0, null)],
    });
    const registry = createRegistry();
    createStreamMetrics(registry, source, ['quantum:stream:apply.plan']);
    const text = await registry.metrics();
    expect(text).toContain('quantum_stream_group_lag{stream="quantum:stream:apply.plan",group="governor"} 5');
    expect(text).toContain(
      'quantum_stream_group_pending{stream="quantum:stream:apply.plan",group="governor"} 2',
    );
    expect(text).toContain('quantum_stream_group_pending{stream="quantum:stream:apply.plan",group="p33"} 0');
    expect(text).not.toContain('quantum_stream_group_lag{stream="quantum:stream:apply.plan",group="p33"}');
    expect(source.calls).toEqual(['quantum:stream:apply.plan']);
  });

  it('when a group disappears then its series disappears at the next scrape', async () => {
    const groups = [group('governor', 1, 1), group('old', 3, 3)];
    const source = new FakeGroups({ s: groups });
    const registry = createRegistry();
    createStreamMetrics(registry, source, ['s']);
    expect(await registry.metrics()).toContain('group="old"');
    groups.pop();
    expect(await registry.metrics()).not.toContain('group="old"');
  });

  it('when the read fails then the scrape still succeeds and counts the failure', async () => {
    const source = new FakeGroups({ s: [group('governor', 1, 1)] });
    source.fail = true;
    const registry = createRegistry();
    createStreamMetrics(registry, source, ['s']);
    const text = await registry.metrics();
    expect(text).toContain('quantum_stream_metrics_read_failures_total{stream="s"} 1');
    expect(text).not.toContain('quantum_stream_group_lag{');
  });
});
