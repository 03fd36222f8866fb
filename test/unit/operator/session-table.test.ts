import { beforeAll, describe, expect, it } from 'vitest';
import { clientSessionKey, initCrypto, sessionKeyPair } from '../../../common/crypto/index.js';
import { SessionTable } from '../../../operator/index.js';

beforeAll(async () => {
  await initCrypto();
});

const HOUR = 3_600_000;

describe('SessionTable', () => {
  it('derives the key the client derives, and finds the session by its id', () => {
    const table = new SessionTable();
    const client = sessionKeyPair();
    const opened = table.open('ann', client.publicKey, 0);
    const found = table.find(opened.session, 1);
    expect(found?.name).toBe('ann');
    expect(found?.key).toEqual(clientSessionKey(client, opened.serverKey));
    expect(opened.expiresAt).toBe(HOUR);
  });

  it('evicts the oldest of anyone once the table is full', () => {
    const table = new SessionTable({ total: 3 });
    const ids = ['a1', 'b1', 'c1', 'd1'].map(
      (name, i) => table.open(name, sessionKeyPair().publicKey, i).session,
    );
    expect(table.size).toBe(3);
    expect(table.find(ids[0] as Uint8Array, 10)).toBeUndefined();
    for (const id of ids.slice(1)) expect(table.find(id, 10)).toBeDefined();
  });

  it('drops expired sessions on the next handshake, and wipes their keys', () => {
    const table = new SessionTable({ ttlMs: 100 });
    const first = table.open('ann', sessionKeyPair().publicKey, 0);
    const key = table.find(first.session, 50)?.key;
    table.open('bob', sessionKeyPair().publicKey, 60);
    table.open('cat', sessionKeyPair().publicKey, 150);
    expect(table.size).toBe(2);
    expect(key?.every((byte) => byte === 0)).toBe(true);
    expect(table.find(first.session, 150)).toBeUndefined();
  });

  it('refuses the handshake of a live session, and a low-order key', () => {
    const table = new SessionTable();
    const client = sessionKeyPair();
    table.open('ann', client.publicKey, 0);
    expect(() => table.open('ann', client.publicKey, 1)).toThrow(
      expect.objectContaining({ code: 'REPLAY' }),
    );
    expect(() => table.open('ann', new Uint8Array(32), 1)).toThrow(
      expect.objectContaining({ code: 'KEY_INVALID' }),
    );
  });
});
