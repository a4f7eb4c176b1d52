/** The apply layer's one result line says when a plan was only a dry run (would_execute True). */
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../helpers/wait.js';
import { govBody, logLines, makeHarness, p33Body, planIdFor, proposal, type Harness } from './harness.js';

describe('apply result line', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  async function resultLine(mode: 'dry_run' | 'testnet') {
    h = await makeHarness('memory', { mode });
    await h.service.start();
    const fields = proposal('FULL_CLOSE_PROPOSED', '0.1');
    const id = planIdFor('BTCUSDT', fields);
    await h.writeProposal('BTCUSDT', fields);
    const t = h;
    await until(async () => (await t.plans()).length > 0, 5000, 'the plan entry');
    await h.setPermit('governor', id, govBody('BTCUSDT'));
    await h.setPermit('p33', id, p33Body('BTCUSDT', 0.0076));
    const [res] = await h.waitForResults(1);
    return { res: res!.fields, line: await until(() => logLines(t.log, 'apply: result')[0]) };
  }

  it('when dry_run would have executed then the result line says it was a dry run', async () => {
    const { res, line } = await resultLine('dry_run');
    expect(res).toMatchObject({ decision: 'EXECUTE', would_execute: 'True' });
    expect(line.msg).toMatch(/^apply: result \w+ BTCUSDT EXECUTE \[dry run: would execute, no order sent\]$/);
  });

  it('when testnet executes then the result line does not say dry run', async () => {
    const { res, line } = await resultLine('testnet');
    expect(res).toMatchObject({ decision: 'EXECUTE', executed: 'True' });
    expect(line.msg).not.toMatch(/dry run/);
  });
});
