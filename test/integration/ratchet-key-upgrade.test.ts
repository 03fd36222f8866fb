/**
 * A name registered before forward secrecy (its receipt has no ratchet key) upgrades on its own:
 * its client's next inbox check registers the ratchet key with a signed update and publishes
 * prekeys, after which komrades can write to it. Until then a letter to it is refused before
 * anything leaves, with a message saying what is missing. Real Operator in this process, real
 * HTTP, real SQLite on both sides.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient, KomradeClient, SqliteLocalStore } from '../../client/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { signReceipt, verifyReceipt } from '../../common/wire/index.js';
import { loadOperatorKeys } from '../../operator/keys/load-operator-keys.js';
import { silentLogger } from '../../common/logging/index.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';

let operator: TestOperator;
let dir: string;
const stores: SqliteLocalStore[] = [];
const agent = new Agent();

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0, config: ['tokens: { perDay: 200 }'] });
  dir = mkdtempSync(join(tmpdir(), 'komrade-ratchet-upgrade-'));
});
afterAll(async () => {
  for (const store of stores) store.close();
  await agent.close();
  await operator.close();
  rmSync(dir, { recursive: true, force: true });
});

function client(
  name: string,
  keys: IdentityKeys,
): { client: KomradeClient; store: SqliteLocalStore } {
  const store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey: randomBytes(32) });
  stores.push(store);
  const http = new HttpOperatorClient({ baseUrl: operator.url, dispatcher: agent, now: Date.now });
  return {
    store,
    client: new KomradeClient({ operator: http, store, keys, now: Date.now, keyHolder: 'self' }),
  };
}

describe('a name registered before ratchet keys', () => {
  it('gains its ratchet key and prekeys at its next inbox check, and letters reach it then', async () => {
    // Olga registered under the old protocol: her receipt (signed by this Operator) has no key.
    const olgaKeys = generateIdentityKeys();
    const operatorKeys = loadOperatorKeys({ dataDir: operator.dataDir, logger: silentLogger });
    const old = signReceipt(
      {
        name: 'olga',
        signKey: olgaKeys.signPublic,
        boxKey: olgaKeys.boxPublic,
        keyHolder: 'self',
        ratchetKey: null,
        registeredAt: Date.now() - 86_400_000,
      },
      operatorKeys.signSecret,
    );
    await operator.store.register(old);
    const olga = client('olga', olgaKeys);
    await olga.client.operatorInfo();
    olga.store.saveOwnReceipt(old);

    const ivan = client('ivan', generateIdentityKeys());
    await ivan.client.register('ivan');
    // Refused before anything leaves: no token spent, no bundle asked for.
    const tokensBefore = ivan.client.tokensHeld();
    await expect(ivan.client.send('olga', 'hello')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: expect.stringContaining('has not published a ratchet key') as unknown,
    });
    expect(ivan.client.tokensHeld()).toBe(tokensBefore);

    await olga.client.checkInbox();
    const own = olga.store.ownReceipt();
    expect(own?.ratchetKey).toHaveLength(33);
    expect(own?.registeredAt).toBe(old.registeredAt);
    const looked = await new HttpOperatorClient({
      baseUrl: operator.url,
      dispatcher: agent,
      now: Date.now,
    }).lookup('olga');
    expect(looked.ratchetKey).toEqual(own?.ratchetKey);
    expect(verifyReceipt(looked, operatorKeys.signPublic)).toBe(true);

    // Ivan's cached receipt (without a key) is asked for again, and the letter goes.
    await ivan.client.send('olga', 'hello');
    olga.client.accept('ivan');
    const check = await olga.client.checkInbox();
    expect(check.received).toBe(1);
    expect(olga.client.inbox().map((l) => l.text)).toEqual(['hello']);
  });
});
