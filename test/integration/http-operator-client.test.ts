/** HttpOperatorClient against a scripted loopback HTTP server: signing, and distrust of answers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpOperatorClient } from '../../bridge/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import {
  ROUTES,
  parseRequestAuth,
  toBase64url,
  verifyRequestAuth,
} from '../../common/wire/index.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

let server: Server;
let url: string;
let dispatcher: Agent;
let handler: Handler;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handler(req, Buffer.concat(chunks), res);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dispatcher = new Agent();
});
afterAll(async () => {
  await dispatcher.close();
  await new Promise((done) => server.close(done));
});
beforeEach(() => {
  handler = (_req, _body, res) => res.writeHead(500).end();
});

const client = () => new HttpOperatorClient({ baseUrl: url, dispatcher, now: () => 1_234 });
const reply =
  (status: number, body: unknown): Handler =>
  (_req, _body, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

describe('HttpOperatorClient', () => {
  it('signs the method, exact path and exact body bytes', async () => {
    const keys = generateIdentityKeys();
    let verified = false;
    handler = (req, body, res) => {
      const auth = parseRequestAuth(req.headers.authorization);
      expect(auth.ok).toBe(true);
      if (!auth.ok) return;
      expect(auth.value).toMatchObject({ name: 'alice', at: 1_234 });
      verified = verifyRequestAuth(auth.value, 'POST', req.url!, body, keys.signPublic);
      reply(200, { deleted: 1 })(req, body, res);
    };
    const deleted = await client().ack({ name: 'alice', signSecret: keys.signSecret }, [
      randomBytes(16),
    ]);
    expect(deleted).toBe(1);
    expect(verified).toBe(true);
  });

  it("turns the Operator's error bodies into KomradeErrors with its code", async () => {
    handler = reply(409, { error: { code: 'NAME_TAKEN', message: 'Name taken.\u001b[2J' } });
    const error = await client()
      .lookup('alice')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NAME_TAKEN' });
    expect((error as Error).message).not.toContain('\u001b');
  });

  it('maps unknown codes, non-JSON and wrong shapes to OPERATOR_ERROR', async () => {
    handler = reply(418, { error: { code: 'TEAPOT', message: 'short and stout' } });
    expect(await codeOf(client().info())).toBe('OPERATOR_ERROR');
    handler = (_req, _body, res) => res.writeHead(200).end('<html>hello</html>');
    expect(await codeOf(client().info())).toBe('OPERATOR_ERROR');
    handler = reply(200, { version: 1, signKey: 'short' });
    expect(await codeOf(client().info())).toBe('OPERATOR_ERROR');
    handler = reply(200, {
      receipt: {
        name: 'ALICE',
        signKey: toBase64url(randomBytes(32)),
        boxKey: toBase64url(randomBytes(32)),
        keyHolder: 'self',
        registeredAt: 1,
        sig: toBase64url(randomBytes(64)),
      },
    });
    expect(await codeOf(client().lookup('alice'))).toBe('OPERATOR_ERROR');
  });

  it('refuses an answer larger than the limit', async () => {
    handler = (_req, _body, res) => res.writeHead(200).end('x'.repeat(2_000));
    const small = new HttpOperatorClient({
      baseUrl: url,
      dispatcher,
      now: Date.now,
      maxResponseBytes: 1_000,
    });
    expect(await codeOf(small.info())).toBe('OPERATOR_ERROR');
  });

  it('says OPERATOR_UNREACHABLE when nothing listens, naming the address', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const away = new HttpOperatorClient({
      baseUrl: `http://127.0.0.1:${port}`,
      dispatcher,
      now: Date.now,
    });
    const error = await away.info().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OPERATOR_UNREACHABLE' });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new HttpOperatorClient({ baseUrl: 'ftp://x', dispatcher, now: Date.now })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
    );
    expect(ROUTES.operator).toBe('/v1/operator');
  });
});
