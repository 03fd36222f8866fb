/** A client that sends half a body and stalls is cut with 408 in bounded time, and nothing is stored. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../operator/index.js';
import {
  collectingLogger,
  startTestOperator,
  type TestOperator,
} from '../support/operator-fixture.js';
import { TestClient, makeKomrade, registrationBody } from '../support/operator-test-client.js';

const POW_BITS = 4;
/** Far above the configured 1 s, far below the 60 s and more the old server took. */
const BOUND_MS = 15_000;

let started: TestOperator;
let store: SqliteStore;
let baseUrl: string;
const lines: string[] = [];

beforeAll(async () => {
  started = await startTestOperator({
    powBits: POW_BITS,
    http: 'bodyTimeoutSeconds: 1',
    logger: collectingLogger(lines),
  });
  store = started.store;
  baseUrl = started.url;
});

afterAll(() => started.close());

/** What a raw connection received, and whether the server closed it. */
interface RawExchange {
  readonly response: string;
  readonly closed: boolean;
}

/**
 * Sends the head and the first half of `body`, then nothing: resolves when the server closes the
 * connection, or with `closed: false` after {@link BOUND_MS}.
 */
function sendHalfAndStall(path: string, body: string): Promise<RawExchange> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let response = '';
    const guard = setTimeout(() => {
      socket.destroy();
      resolve({ response, closed: false });
    }, BOUND_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ response, closed: true });
    });
    socket.on('connect', () => {
      socket.write(
        [
          `POST ${path} HTTP/1.1`,
          `Host: ${hostname}:${port}`,
          'Content-Type: application/json',
          `Content-Length: ${Buffer.byteLength(body)}`,
          '',
          '',
        ].join('\r\n'),
      );
      socket.write(body.slice(0, Math.floor(body.length / 2)));
    });
  });
}

describe('a slow request body', () => {
  it('is answered 408 REQUEST_TIMEOUT, the connection closed, and nothing stored', async () => {
    const komrade = makeKomrade('slowpoke');
    const body = JSON.stringify(await registrationBody(komrade, POW_BITS));
    const from = lines.length;

    const { response, closed } = await sendHalfAndStall('/v1/register', body);

    expect(closed).toBe(true);
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(response.toLowerCase()).toContain('connection: close');
    const json = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string };
    };
    expect(json.error.code).toBe('REQUEST_TIMEOUT');

    const client = new TestClient(baseUrl);
    expect((await client.get('/v1/komrades/slowpoke')).status).toBe(404);
    expect(await store.lookup('slowpoke')).toBeUndefined();

    const logged = lines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({ event: 'request', route: '/v1/register', status: 408 }),
    );
  });

  it('leaves the server serving: the same body sent whole is accepted', async () => {
    const client = new TestClient(baseUrl);
    const komrade = makeKomrade('prompt');
    expect((await client.register(komrade, POW_BITS)).status).toBe(201);
    expect((await client.get('/v1/health')).status).toBe(200);
  });
});
