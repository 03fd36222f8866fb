import { beforeAll, describe, expect, it } from 'vitest';
import {
  clientSessionKey,
  initCrypto,
  randomBytes,
  serverSessionKey,
  sessionKeyPair,
  sessionMac,
  sessionMacVerifies,
} from '../../../common/crypto/index.js';
import {
  ReplayWindow,
  SESSION_REPLAY_WINDOW,
  formatSessionAuth,
  isSessionAuth,
  parseSessionAuth,
  sessionRequestBytes,
} from '../../../common/wire/index.js';

beforeAll(async () => {
  await initCrypto();
});

const request = (over: Partial<Parameters<typeof sessionRequestBytes>[0]> = {}) =>
  sessionRequestBytes({
    method: 'POST',
    path: '/v1/mail/fetch',
    session: new Uint8Array(16).fill(7),
    seq: 1,
    body: new TextEncoder().encode('{"limit":5}'),
    ...over,
  });

describe('session keys', () => {
  it('gives client and Operator the same MAC key, and an eavesdropper none of it', () => {
    const client = sessionKeyPair();
    const server = sessionKeyPair();
    const a = clientSessionKey(client, server.publicKey);
    const b = serverSessionKey(server, client.publicKey);
    expect(a).toEqual(b);
    // Someone who replays the handshake with the client's public key but their own secret gets
    // another key: a replayed handshake opens a session nobody else can use.
    const replayer = sessionKeyPair();
    expect(clientSessionKey(replayer, server.publicKey)).not.toEqual(b);
  });

  it('refuses a low-order peer key instead of deriving an all-zero key', () => {
    const client = sessionKeyPair();
    expect(() => clientSessionKey(client, new Uint8Array(32))).toThrow();
  });

  it('verifies a MAC over exactly what was sent, and nothing else', () => {
    const key = randomBytes(32);
    const mac = sessionMac(key, request());
    expect(sessionMacVerifies(key, mac, request())).toBe(true);
    for (const changed of [
      request({ method: 'GET' }),
      request({ path: '/v1/mail/ack' }),
      request({ seq: 2 }),
      request({ session: new Uint8Array(16).fill(8) }),
      request({ body: new TextEncoder().encode('{"limit":6}') }),
    ]) {
      expect(sessionMacVerifies(key, mac, changed)).toBe(false);
    }
    expect(sessionMacVerifies(randomBytes(32), mac, request())).toBe(false);
    expect(sessionMacVerifies(key, mac.subarray(1), request())).toBe(false);
  });
});

describe('the KomradeSession header', () => {
  it('round-trips, and is told apart from a signed header', () => {
    const auth = { session: randomBytes(16), seq: 42, mac: randomBytes(32) };
    const header = formatSessionAuth(auth);
    expect(isSessionAuth(header)).toBe(true);
    expect(isSessionAuth('Komrade name=ann,at=1,nonce=x,sig=y')).toBe(false);
    const parsed = parseSessionAuth(header);
    expect(parsed.ok && parsed.value).toEqual(auth);
  });

  it.each([
    ['no fields', 'KomradeSession '],
    [
      'a padded sequence number',
      `KomradeSession id=${'A'.repeat(22)},seq=007,mac=${'A'.repeat(43)}`,
    ],
    [
      'a negative sequence number',
      `KomradeSession id=${'A'.repeat(22)},seq=-1,mac=${'A'.repeat(43)}`,
    ],
    ['a short mac', `KomradeSession id=${'A'.repeat(22)},seq=1,mac=${'A'.repeat(42)}`],
    [
      'a huge sequence number',
      `KomradeSession id=${'A'.repeat(22)},seq=999999999999999,mac=${'A'.repeat(43)}`,
    ],
    ['trailing text', `KomradeSession id=${'A'.repeat(22)},seq=1,mac=${'A'.repeat(43)},x=1`],
  ])('refuses %s as BAD_REQUEST', (_what, header) => {
    const parsed = parseSessionAuth(header);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe('BAD_REQUEST');
  });
});

describe('ReplayWindow', () => {
  it('accepts each sequence number once, in any order within the window', () => {
    const window = new ReplayWindow();
    const order = [3, 1, 2, 0, 10, 5, 4, 9];
    for (const seq of order) expect(window.accept(seq), `first ${seq}`).toBe(true);
    for (const seq of order) expect(window.accept(seq), `again ${seq}`).toBe(false);
  });

  it('refuses what fell out of the window, and accepts its edge', () => {
    const window = new ReplayWindow();
    expect(window.accept(1000)).toBe(true);
    expect(window.accept(1000 - SESSION_REPLAY_WINDOW)).toBe(false);
    expect(window.accept(1000 - SESSION_REPLAY_WINDOW + 1)).toBe(true);
    // A jump far ahead forgets the past.
    expect(window.accept(5000)).toBe(true);
    expect(window.accept(1000)).toBe(false);
    expect(window.accept(4999)).toBe(true);
  });

  it('never accepts a replay among thousands of shuffled numbers', () => {
    const window = new ReplayWindow();
    let accepted = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 5_000; i++) {
      const seq = i + Math.floor(Math.random() * 20);
      const fresh = !seen.has(seq);
      if (window.accept(seq)) {
        expect(fresh).toBe(true);
        accepted++;
      }
      seen.add(seq);
    }
    expect(accepted).toBeGreaterThan(3_000);
  });
});
