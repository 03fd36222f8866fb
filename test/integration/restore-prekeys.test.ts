/**
 * Prekeys kept at the Operator: checked about once an hour, refilled below 25 one-time prekeys.
 * After a backup is restored, the client replaces its prekeys everywhere: the backup's secret
 * halves are dropped (a replayed first message must not open again), and at the next check the
 * Operator's one-time prekeys are all replaced (`replaceOneTime`) and a new signed and Kyber
 * prekey published, so no bundle names a prekey the restored client cannot open. Real Operator
 * in this process, real HTTP, real SQLite on both sides.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
  prepareRestoredStore,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { withOverrides } from '../support/operator-client-overrides.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';

let operator: TestOperator;
let dir: string;
const agent = new Agent();
const stores: SqliteLocalStore[] = [];

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0, config: ['tokens: { perDay: 200 }'] });
  dir = mkdtempSync(join(tmpdir(), 'komrade-restore-prekeys-'));
});
afterAll(async () => {
  for (const store of stores) store.close();
  await agent.close();
  await operator.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Takes bundles of `name` straight from the Operator's store until none has a one-time key. */
async function drain(name: string): Promise<{ signedIds: Set<number>; oneTimeIds: number[] }> {
  const signedIds = new Set<number>();
  const oneTimeIds: number[] = [];
  for (;;) {
    const bundle = await operator.store.takeBundle(
      { epoch: 1, inputHash: randomBytes(32), letterHash: randomBytes(32) },
      name,
      { hour: 1, perHour: 10_000 },
    );
    signedIds.add(bundle.signedPrekey.id);
    if (bundle.oneTimePrekey === undefined) return { signedIds, oneTimeIds };
    oneTimeIds.push(bundle.oneTimePrekey.id);
  }
}

describe('prekeys at the Operator', () => {
  it('are checked at most hourly, and refilled with 100 when fewer than 25 are left', async () => {
    const store = new SqliteLocalStore(join(dir, 'carol.db'), { storageKey: randomBytes(32) });
    stores.push(store);
    const http = new HttpOperatorClient({
      baseUrl: operator.url,
      dispatcher: agent,
      now: Date.now,
    });
    const uploads: (number | undefined)[] = [];
    const carol = new KomradeClient({
      operator: withOverrides(http, {
        uploadPrekeys: (signer, upload) => {
          uploads.push(upload.oneTimePrekeys?.length);
          return http.uploadPrekeys(signer, upload);
        },
      }),
      store,
      keys: generateIdentityKeys(),
      now: Date.now,
      keyHolder: 'self',
    });
    await carol.register('carol');
    // The last-resort prekeys (answered with the count), then a first batch.
    expect(uploads).toEqual([undefined, 100]);
    // Within the hour: no check at all.
    await carol.checkInbox();
    expect(uploads).toEqual([undefined, 100]);
    // An hour later, 80 handed out: 20 left is below 25, so a batch of 100 follows the check.
    for (let i = 0; i < 80; i++) {
      await operator.store.takeBundle(
        { epoch: 1, inputHash: randomBytes(32), letterHash: randomBytes(32) },
        'carol',
        { hour: 2, perHour: 10_000 },
      );
    }
    store.setPrekeysPublishedAt(Date.now() - 3_600_000);
    await carol.checkInbox();
    expect(uploads).toEqual([undefined, 100, undefined, 100]);
    // An hour later again, 120 held: only the check.
    store.setPrekeysPublishedAt(Date.now() - 3_600_000);
    expect(await carol.publishPrekeys()).toBe(120);
    expect(uploads).toEqual([undefined, 100, undefined, 100, undefined]);
  });
});

describe('a restored store', () => {
  it('replaces every prekey at the Operator at its next check', async () => {
    const store = new SqliteLocalStore(join(dir, 'bob.db'), { storageKey: randomBytes(32) });
    stores.push(store);
    const http = new HttpOperatorClient({
      baseUrl: operator.url,
      dispatcher: agent,
      now: Date.now,
    });
    const bob = new KomradeClient({
      operator: http,
      store,
      keys: generateIdentityKeys(),
      now: Date.now,
      keyHolder: 'self',
    });
    await bob.register('bob');
    const signedBefore = store.newestOwnPrekey('signed')?.id;
    expect(store.newestOwnPrekey('one-time')).toBeDefined();

    prepareRestoredStore(store);
    // The backup's secret halves are gone at once, before anything is published.
    expect(store.newestOwnPrekey('one-time')).toBeUndefined();
    expect(store.newestOwnPrekey('signed')).toBeUndefined();
    expect(store.oneTimeReplaceDue()).toBe(true);

    await bob.checkInbox();
    expect(store.oneTimeReplaceDue()).toBe(false);
    const signedAfter = store.newestOwnPrekey('signed')?.id;
    expect(signedAfter).not.toBe(signedBefore);
    const { signedIds, oneTimeIds } = await drain('bob');
    expect([...signedIds]).toEqual([signedAfter]);
    expect(oneTimeIds).toHaveLength(100);
    // Every one-time prekey the Operator hands out now is one the restored store holds.
    for (const id of oneTimeIds) {
      expect(id).toBeGreaterThan(1_000_000);
      expect(store.ownPrekey('one-time', id)).toBeDefined();
    }
  });
});
