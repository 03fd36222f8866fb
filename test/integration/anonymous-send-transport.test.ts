/**
 * What the Operator's side of the wire sees of anonymous sends: a client reaches an `.onion`
 * Operator through a local SOCKS5 listener that records each connection's SOCKS username (Tor's
 * circuit isolation key) and every byte sent on it, then forwards to a real Operator on loopback.
 * Sends carry no Authorization header, nothing of the sender in their body, and never go on the
 * circuit of the sender's signed requests.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
  createAnonymousCircuits,
  createOperatorDispatcher,
  type AnonymousCircuits,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import { TestClient, makeKomrade, testRatchetKey } from '../support/operator-test-client.js';

/** One SOCKS connection as the listener saw it. */
interface SocksConnection {
  readonly username: string;
  readonly bytes: Buffer[];
}

/** A minimal SOCKS5 server (username/password auth, CONNECT by name) forwarding to `target`. */
async function startRecordingSocks(target: number) {
  const connections: SocksConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'connect' = 'greeting';
    let username = '';
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (stage === 'greeting') {
          if (buffer.length < 2 || buffer.length < 2 + (buffer[1] ?? 0)) return;
          buffer = buffer.subarray(2 + (buffer[1] ?? 0));
          client.write(Buffer.from([0x05, 0x02]));
          stage = 'auth';
        } else if (stage === 'auth') {
          const ulen = buffer[1] ?? 0;
          if (buffer.length < 3 + ulen) return;
          const plen = buffer[2 + ulen] ?? 0;
          if (buffer.length < 3 + ulen + plen) return;
          username = buffer.subarray(2, 2 + ulen).toString('latin1');
          buffer = buffer.subarray(3 + ulen + plen);
          client.write(Buffer.from([0x01, 0x00]));
          stage = 'connect';
        } else {
          const hostLength = buffer[4] ?? 0;
          if (buffer.length < 7 + hostLength) return;
          const rest = buffer.subarray(7 + hostLength);
          client.removeListener('data', onData);
          const record: SocksConnection = { username, bytes: [] };
          connections.push(record);
          const upstream = net.connect(target, '127.0.0.1', () => {
            client.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
            if (rest.length > 0) {
              record.bytes.push(Buffer.from(rest));
              upstream.write(rest);
            }
            client.on('data', (data: Buffer) => {
              record.bytes.push(Buffer.from(data));
              upstream.write(data);
            });
            upstream.pipe(client);
          });
          upstream.on('error', () => client.destroy());
          client.on('close', () => upstream.destroy());
          return;
        }
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

/** The HTTP requests in a connection's bytes: request line, headers, body. */
function requestsIn(bytes: readonly Buffer[]) {
  let data = Buffer.concat(bytes);
  const out: { line: string; headers: Record<string, string>; body: Buffer }[] = [];
  for (;;) {
    const end = data.indexOf('\r\n\r\n');
    if (end < 0) return out;
    const [line = '', ...fields] = data.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const field of fields) {
      const at = field.indexOf(':');
      headers[field.slice(0, at).trim().toLowerCase()] = field.slice(at + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    out.push({ line, headers, body: data.subarray(end + 4, end + 4 + length) });
    data = data.subarray(end + 4 + length);
  }
}

const ONION = `http://${'a'.repeat(56)}.onion`;

/** Headers an anonymous send may carry: none says who sends. */
const ALLOWED_HEADERS = new Set(['accept', 'connection', 'content-length', 'content-type', 'host']);

describe('anonymous sends on the wire', () => {
  let operator: TestOperator;
  let socks: Awaited<ReturnType<typeof startRecordingSocks>>;
  let dir: string;
  const closing: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    operator = await startTestOperator({ powBits: 2 });
    socks = await startRecordingSocks(Number(new URL(operator.url).port));
    dir = mkdtempSync(join(tmpdir(), 'komrade-anon-wire-'));
  });
  afterAll(async () => {
    for (const close of closing.reverse()) await close();
    await socks.close();
    await operator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A komrade reaching the onion Operator through the recording SOCKS port. */
  function komrade(name: string, anonymous: AnonymousCircuits) {
    const isolationKey = toBase64url(randomBytes(16));
    const dispatcher: Dispatcher = createOperatorDispatcher({
      operatorUrl: ONION,
      socks: { host: '127.0.0.1', port: socks.port },
      isolationKey,
    });
    const store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey: randomBytes(32) });
    closing.push(
      () => {
        store.close();
      },
      () => dispatcher.close(),
    );
    const keys = generateIdentityKeys();
    const http = new HttpOperatorClient({ baseUrl: ONION, dispatcher, anonymous, now: Date.now });
    const client = new KomradeClient({
      operator: http,
      store,
      keys,
      now: Date.now,
      keyHolder: 'self',
      pause: () => Promise.resolve(),
    });
    return { name, isolationKey, keys, client };
  }

  it('go unsigned, naming nobody but the recipient, on circuits apart from the sender’s', async () => {
    const anonymous = createAnonymousCircuits({
      operatorUrl: ONION,
      socks: { host: '127.0.0.1', port: socks.port },
      sendsPerCircuit: 2,
    });
    closing.push(() => anonymous.close());
    const ann = komrade(`ann_${process.pid % 1000}`, anonymous);
    const bob = komrade(`bob_${process.pid % 1000}`, anonymous);
    await ann.client.register(ann.name);
    await bob.client.register(bob.name);
    for (let i = 0; i < 5; i++) await ann.client.send(bob.name, `letter ${i}`);
    await bob.client.follow(ann.name);
    expect((await bob.client.checkInbox()).requested).toBe(5);
    expect((await ann.client.checkInbox()).follows).toBe(1);

    // Every connection of this test (the identities' ones were opened by the registrations).
    const seen = socks.connections.map((c) => ({
      username: c.username,
      requests: requestsIn(c.bytes),
    }));
    const own = new Set([ann.isolationKey, bob.isolationKey]);
    const sends = seen.filter((c) => c.requests.some((r) => r.line.includes('/v2/mail/send')));
    const signed = seen.filter((c) => own.has(c.username));
    expect(sends.length).toBeGreaterThan(0);
    expect(signed.length).toBeGreaterThan(0);
    // No send ever rode an identity's circuit, and no anonymous circuit carried anything but
    // sends and unsigned reads (the Operator's info, receipts): nothing signed, nothing naming
    // the sender. Unsigned reads never ride an identity's circuit either: asked there right
    // before a send, they would time-link the sender to it.
    // The registry log's reads (a consistency proof when a lookup brings a newer checkpoint) too.
    const UNSIGNED_READ =
      /^GET \/v1\/(operator|komrades\/[a-z0-9_]+|log\/checkpoint|log\/(consistency|entries)\?[a-z0-9=&]+) /;
    for (const c of sends) {
      expect(own.has(c.username)).toBe(false);
      for (const r of c.requests) {
        expect(
          r.line.startsWith('POST /v2/mail/send ') ||
            r.line.startsWith('POST /v2/prekeys/bundle ') ||
            UNSIGNED_READ.test(r.line),
        ).toBe(true);
        expect(r.headers.authorization).toBeUndefined();
      }
    }
    for (const c of signed) {
      expect(c.requests.some((r) => r.line.includes('/v2/mail/send'))).toBe(false);
      expect(c.requests.some((r) => r.line.includes('/v2/prekeys/bundle'))).toBe(false);
      expect(c.requests.filter((r) => UNSIGNED_READ.test(r.line)).map((r) => r.line)).toEqual([]);
    }
    // Issuance is signed, on the identity's own circuit.
    const issues = signed
      .flatMap((c) => c.requests)
      .filter((r) => r.line.includes('/tokens/issue'));
    expect(issues.length).toBeGreaterThanOrEqual(1);
    expect(issues.every((r) => r.headers.authorization !== undefined)).toBe(true);
    // Six sends, at most two a circuit: at least three circuits, each with a fresh random key.
    expect(new Set(sends.map((c) => c.username)).size).toBeGreaterThanOrEqual(3);

    const sendRequests = sends
      .flatMap((c) => c.requests)
      .filter((r) => r.line.startsWith('POST /v2/mail/send '));
    expect(sendRequests).toHaveLength(6);
    for (const request of sendRequests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(Object.keys(request.headers).every((h) => ALLOWED_HEADERS.has(h))).toBe(true);
      const body = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['sealed', 'to', 'token']);
      // The recipient is named; nothing of the sender is anywhere in the request.
      const sender = body.to === bob.name ? ann : bob;
      const text = request.body.toString('utf8') + JSON.stringify(request.headers);
      for (const secret of [
        sender.name,
        toBase64url(sender.keys.signPublic),
        toBase64url(sender.keys.boxPublic),
        ann.isolationKey,
        bob.isolationKey,
      ]) {
        expect(text.includes(secret)).toBe(false);
      }
    }
  });

  it('fetch prekey bundles unsigned, naming only whose bundle, on circuits apart from the identity’s', async () => {
    const anonymous = createAnonymousCircuits({
      operatorUrl: ONION,
      socks: { host: '127.0.0.1', port: socks.port },
    });
    closing.push(() => anonymous.close());
    // Only this test's connections: the file's earlier tests made theirs.
    const before = socks.connections.length;
    const direct = new TestClient(operator.url);
    const cy = makeKomrade(`cy_${process.pid % 1000}`);
    const dee = makeKomrade(`dee_${process.pid % 1000}`);
    expect((await direct.register(cy, 2)).status).toBe(201);
    expect((await direct.register(dee, 2)).status).toBe(201);
    const isolationKey = toBase64url(randomBytes(16));
    const dispatcher: Dispatcher = createOperatorDispatcher({
      operatorUrl: ONION,
      socks: { host: '127.0.0.1', port: socks.port },
      isolationKey,
    });
    closing.push(() => dispatcher.close());
    const http = new HttpOperatorClient({ baseUrl: ONION, dispatcher, anonymous, now: Date.now });
    await http.uploadPrekeys(
      { name: dee.name, signSecret: dee.keys.signSecret },
      {
        signedPrekey: { id: 1, publicKey: testRatchetKey(), signature: randomBytes(64) },
        kyberPrekey: {
          id: 1,
          publicKey: Uint8Array.of(0x08, ...randomBytes(1_568)),
          signature: randomBytes(64),
        },
        oneTimePrekeys: [{ id: 1, publicKey: testRatchetKey() }],
      },
    );
    const [token] = await direct.tokens(cy, 1);
    const bundle = await http.fetchPrekeyBundle({ name: dee.name, token: token! });
    expect(bundle.oneTimePrekey?.id).toBe(1);

    const fetches = socks.connections
      .slice(before)
      .map((c) => ({ username: c.username, requests: requestsIn(c.bytes) }))
      .filter((c) => c.requests.some((r) => r.line.startsWith('POST /v2/prekeys/bundle ')));
    expect(fetches).toHaveLength(1);
    const [fetch] = fetches;
    expect(fetch!.username).not.toBe(isolationKey);
    const uploads = socks.connections.slice(before).filter((c) => c.username === isolationKey);
    expect(uploads.length).toBeGreaterThan(0);
    for (const request of fetch!.requests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(Object.keys(request.headers).every((h) => ALLOWED_HEADERS.has(h))).toBe(true);
    }
    const request = fetch!.requests.find((r) => r.line.startsWith('POST /v2/prekeys/bundle '))!;
    const body = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['name', 'token']);
    expect(body.name).toBe(dee.name);
    const text = request.body.toString('utf8');
    for (const secret of [cy.name, toBase64url(cy.keys.signPublic), isolationKey]) {
      expect(text.includes(secret)).toBe(false);
    }
  });
});

describe('the anonymous circuit pool', () => {
  function recordingPool(options: { sendsPerCircuit?: number; maxAgeMs?: number } = {}) {
    const made: { key: string; closed: boolean }[] = [];
    let now = 0;
    const pool = createAnonymousCircuits({
      operatorUrl: ONION,
      ...options,
      now: () => now,
      createDispatcher: (key) => {
        const entry = { key, closed: false };
        made.push(entry);
        return {
          close: () => {
            entry.closed = true;
            return Promise.resolve();
          },
        } as unknown as Dispatcher;
      },
    });
    return { pool, made, tick: (ms: number) => (now += ms) };
  }

  it('retires a circuit after its sends, with a fresh random key each time', () => {
    const { pool, made } = recordingPool({ sendsPerCircuit: 2 });
    for (let i = 0; i < 30; i++) pool.next();
    // Three slots, each carrying at most two sends before a new circuit replaces it.
    expect(made.length).toBeGreaterThanOrEqual(15);
    expect(new Set(made.map((m) => m.key)).size).toBe(made.length);
    expect(made.filter((m) => !m.closed).length).toBeLessThanOrEqual(3);
  });

  it('retires a circuit after its age, and closes every circuit on close', async () => {
    const { pool, made, tick } = recordingPool({ sendsPerCircuit: 1_000, maxAgeMs: 60_000 });
    for (let i = 0; i < 20; i++) pool.next();
    const early = made.length;
    expect(early).toBeLessThanOrEqual(3);
    tick(60_000);
    for (let i = 0; i < 20; i++) pool.next();
    expect(made.length).toBeGreaterThan(early);
    await pool.close();
    expect(made.every((m) => m.closed)).toBe(true);
    expect(() => pool.next()).toThrow();
  });

  it('refuses an onion Operator without Tor at once', () => {
    expect(() => createAnonymousCircuits({ operatorUrl: ONION })).toThrow(/SOCKS|Tor/);
  });
});
