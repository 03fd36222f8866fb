/**
 * A lying Operator (a proxy holding the real Operator's key, in front of a real Operator) serves a
 * collective's log with the receipt of an invented member, proven in a forked registry tree. A
 * client that has the real log's checkpoint refuses the page (LOG_INCONSISTENT, evidence kept);
 * the same collective read from the real Operator is fine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKomradeError } from '../../common/errors/index.js';
import { silentLogger } from '../../common/logging/index.js';
import { loadOperatorKeys, type OperatorKeys } from '../../operator/index.js';
import { ClientsAt, LyingOperator, forgeReceipt } from '../support/lying-operator.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';

let operator: TestOperator;
let keys: OperatorKeys;
let liar: LyingOperator;
let clients: ClientsAt;
let dir: string;

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0 });
  keys = loadOperatorKeys({ dataDir: operator.dataDir, logger: silentLogger });
  liar = await LyingOperator.start(operator.url, keys);
  dir = mkdtempSync(join(tmpdir(), 'komrade-registry-collective-'));
  clients = new ClientsAt(dir);
});

afterAll(async () => {
  await clients.close();
  await liar.close();
  await operator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a collective log that names an invented member', () => {
  it('is refused by a client that has the real log checkpoint', async () => {
    const alice = await clients.registered(operator.url, 'alice');
    await alice.client.createCollective('portland');
    liar.lie = {};
    const carol = await clients.registered(liar.url, 'carol');
    // A candidate may read the log; this read, through the honest proxy, is the real one.
    await carol.client.requestToJoin('portland');
    const real = await carol.client.collective('portland');
    expect(real.members.map((m) => m.name)).toEqual(['alice']);
    const remembered = (await carol.client.auditLog()).checkpoint;

    // A new event, so carol's next read fetches a page (with its receipts) from the Operator.
    await alice.client.vouch('portland', 'carol');
    const ghost = forgeReceipt(keys, 'ghost');
    liar.lie = { invent: [ghost], collectiveReceipts: [ghost] };
    const told = liar.told;
    await expect(carol.client.collective('portland')).rejects.toSatisfy((error) =>
      isKomradeError(error, 'LOG_INCONSISTENT'),
    );
    expect(liar.told).toBeGreaterThan(told);
    expect(carol.client.logEvidence()).toMatchObject({ source: 'operator', remembered });

    // The real Operator's page is fine for a client that reads it directly.
    const view = await alice.client.collective('portland');
    expect(view.members.map((m) => m.name)).toEqual(['alice', 'carol']);
    expect(alice.client.logEvidence()).toBeUndefined();
  });
});
