/** HttpOperatorClient against a scripted loopback HTTP server: signing, and distrust of answers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpOperatorClient } from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import {
  COLLECTIVE_ROUTES,
  ROUTES,
  TOKEN_ROUTES,
  fromBase64url,
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

// Signed requests, not sessions: these tests read the signature the scripted server receives
// (mailbox sessions: test/integration/http-operator-sessions.test.ts).
const client = () =>
  new HttpOperatorClient({ baseUrl: url, dispatcher, now: () => 1_234, sessions: false });
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

  it('asks for tokens with a signed request, and sends a letter unsigned on an anonymous circuit', async () => {
    const keys = generateIdentityKeys();
    const seen: { path: string; auth: string | undefined; body: unknown; agent: string }[] = [];
    handler = (req, body, res) => {
      seen.push({
        path: req.url!,
        auth: req.headers.authorization,
        body: JSON.parse(body.toString('utf8')) as unknown,
        agent: req.headers['x-agent'] as string,
      });
      if (req.url === TOKEN_ROUTES.issue) {
        const auth = parseRequestAuth(req.headers.authorization);
        expect(
          auth.ok && verifyRequestAuth(auth.value, 'POST', req.url, body, keys.signPublic),
        ).toBe(true);
        reply(200, {
          epoch: 7,
          evaluated: [toBase64url(randomBytes(32))],
          proof: toBase64url(randomBytes(64)),
          left: 9,
        })(req, body, res);
        return;
      }
      reply(201, { id: toBase64url(randomBytes(16)), receivedAt: 5 })(req, body, res);
    };
    // Each dispatcher says which it is, so the server can tell them apart.
    const tagged = (tag: string) =>
      new Agent().compose(
        (dispatch) => (options, handlers) =>
          dispatch(
            { ...options, headers: { ...(options.headers as object), 'x-agent': tag } },
            handlers,
          ),
      );
    const own = tagged('own');
    const anonymousAgent = tagged('anonymous');
    let next = 0;
    const http = new HttpOperatorClient({
      baseUrl: url,
      dispatcher: own,
      anonymous: {
        next: () => {
          next++;
          return anonymousAgent;
        },
        close: () => Promise.resolve(),
      },
      now: () => 1_234,
      sessions: false,
    });
    const signer = { name: 'alice', signSecret: keys.signSecret };
    const blinded = [randomBytes(32)];
    const issued = await http.issueTokens(signer, blinded, 7);
    expect(issued).toMatchObject({ epoch: 7, left: 9 });
    const token = { epoch: 7, input: randomBytes(32), output: randomBytes(64) };
    const sealed = randomBytes(1_024);
    expect(await http.sendAnonymously({ to: 'bob', sealed, token })).toMatchObject({
      receivedAt: 5,
    });
    expect(next).toBe(1);
    expect(seen).toEqual([
      {
        path: TOKEN_ROUTES.issue,
        auth: expect.any(String) as unknown,
        body: { epoch: 7, blinded: blinded.map(toBase64url) },
        agent: 'own',
      },
      {
        path: TOKEN_ROUTES.send,
        auth: undefined,
        body: {
          to: 'bob',
          sealed: toBase64url(sealed),
          token: { epoch: 7, input: toBase64url(token.input), output: toBase64url(token.output) },
        },
        agent: 'anonymous',
      },
    ]);
    // An answer of the wrong shape is the Operator's error, not a letter id.
    handler = reply(201, { id: 'short', receivedAt: 5 });
    expect(await codeOf(http.sendAnonymously({ to: 'bob', sealed, token }))).toBe('OPERATOR_ERROR');
    await own.close();
    await anonymousAgent.close();
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

  it('speaks the collective routes: signed JSON bodies in, checked heads and pages out', async () => {
    const keys = generateIdentityKeys();
    const signer = { name: 'alice', signSecret: keys.signSecret };
    const seen: { path: string; body: Record<string, unknown>; signed: boolean }[] = [];
    const head = {
      collective: 'portland',
      length: 3,
      head: toBase64url(randomBytes(32)),
      lastAt: 9,
    };
    const event = { signed: randomBytes(40), sig: randomBytes(64) };
    handler = (req, body, res) => {
      const auth = parseRequestAuth(req.headers.authorization);
      seen.push({
        path: req.url!,
        body: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
        signed: auth.ok && verifyRequestAuth(auth.value, 'POST', req.url!, body, keys.signPublic),
      });
      if (req.url === COLLECTIVE_ROUTES.log) {
        reply(200, {
          collective: 'portland',
          from: 1,
          events: [{ signed: toBase64url(event.signed), sig: toBase64url(event.sig) }],
          length: 3,
          receipts: [],
        })(req, body, res);
      } else if (req.url === COLLECTIVE_ROUTES.send) {
        reply(200, { id: toBase64url(randomBytes(16)), receivedAt: 5, recipients: 2 })(
          req,
          body,
          res,
        );
      } else {
        reply(200, head)(req, body, res);
      }
    };
    const c = client();
    expect(await c.createCollective(signer, event, randomBytes(8))).toMatchObject({ length: 3 });
    expect((await c.appendEvent(signer, event)).head).toEqual(fromBase64url(head.head));
    expect(await c.collectiveHead(signer, 'portland')).toMatchObject({ lastAt: 9 });
    const page = await c.collectiveLog(signer, 'portland', 1, 10);
    expect(page.events[0]?.sig).toEqual(event.sig);
    const sent = await c.sendToCollective(signer, 'portland', {
      body: randomBytes(10),
      keys: [{ to: 'bob', sealed: randomBytes(80) }],
    });
    expect(sent).toMatchObject({ receivedAt: 5, recipients: 2 });
    expect(seen.map((r) => [r.path, r.signed])).toEqual([
      [COLLECTIVE_ROUTES.create, true],
      [COLLECTIVE_ROUTES.append, true],
      [COLLECTIVE_ROUTES.head, true],
      [COLLECTIVE_ROUTES.log, true],
      [COLLECTIVE_ROUTES.send, true],
    ]);
    expect(seen[0]?.body).toEqual({
      genesis: { signed: toBase64url(event.signed), sig: toBase64url(event.sig) },
      pow: expect.any(String) as string,
    });
    expect(seen[3]?.body).toEqual({ collective: 'portland', from: 1, limit: 10 });
    expect(Object.keys(seen[4]?.body ?? {})).toEqual(['collective', 'body', 'keys']);

    // A head or page of the wrong shape is the Operator's error, not data.
    handler = reply(200, { ...head, head: 'short' });
    expect(await codeOf(c.collectiveHead(signer, 'portland'))).toBe('OPERATOR_ERROR');
    handler = reply(200, {
      collective: 'portland',
      from: 0,
      events: [{ signed: 'AA' }],
      length: 1,
      receipts: [],
    });
    expect(await codeOf(c.collectiveLog(signer, 'portland', 0))).toBe('OPERATOR_ERROR');
    handler = reply(409, { error: { code: 'COLLECTIVE_CONFLICT', message: 'stale' } });
    expect(await codeOf(c.appendEvent(signer, event))).toBe('COLLECTIVE_CONFLICT');
    handler = reply(403, { error: { code: 'NOT_MEMBER', message: 'members only' } });
    expect(await codeOf(c.collectiveLog(signer, 'portland', 0))).toBe('NOT_MEMBER');
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new HttpOperatorClient({ baseUrl: 'ftp://x', dispatcher, now: Date.now })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
    );
    expect(ROUTES.operator).toBe('/v1/operator');
  });
});
