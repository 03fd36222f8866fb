/**
 * What a self-hoster watches: GET /v1/health, the per-request log line that never holds a name,
 * and a readable line when the Operator stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64url } from '../../common/wire/index.js';
import {
  collectingLogger,
  startTestOperator,
  type TestOperator,
} from '../support/operator-fixture.js';
import { startOperatorProcess } from '../support/operator-process.js';
import { TestClient, makeKomrade } from '../support/operator-test-client.js';

const POW_BITS = 4;

let started: TestOperator;
let client: TestClient;
const lines: string[] = [];

beforeAll(async () => {
  started = await startTestOperator({ powBits: POW_BITS, logger: collectingLogger(lines) });
  client = new TestClient(started.url);
});

afterAll(() => started.close());

/** The `request` lines logged since `from`, parsed. */
function requestLines(from: number): Record<string, unknown>[] {
  return lines
    .slice(from)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.event === 'request');
}

describe('GET /v1/health', () => {
  it('answers 200 {"status":"ok"} and nothing else, with no auth', async () => {
    const reply = await client.get('/v1/health');
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ status: 'ok' });
  });

  it('answers 503 {"status":"unavailable"} when the store does not answer', async () => {
    const down = await startTestOperator({ powBits: POW_BITS });
    try {
      const probe = new TestClient(down.url);
      expect((await probe.get('/v1/health')).status).toBe(200);
      await down.store.close();
      const reply = await probe.get('/v1/health');
      expect(reply.status).toBe(503);
      expect(reply.json).toEqual({ status: 'unavailable' });
    } finally {
      await down.close();
    }
  });

  it('refuses other methods', async () => {
    expect((await client.post('/v1/health', {})).status).toBe(405);
  });
});

describe('per-request log line', () => {
  it('logs method, route pattern, status and ms at info, and never a name or key', async () => {
    const komrade = makeKomrade('zebediah');
    const from = lines.length;
    expect((await client.register(komrade, POW_BITS)).status).toBe(201);
    expect((await client.get('/v1/komrades/zebediah')).status).toBe(200);
    expect((await client.get('/v1/komrades/quintessa')).status).toBe(404);
    expect((await client.get('/v1/komrades/zebediah/extra')).status).toBe(404);
    expect((await client.post('/v1/mail/fetch', {}, { as: komrade })).status).toBe(200);
    expect((await client.get('/v1/health')).status).toBe(200);

    const logged = requestLines(from);
    expect(logged.map(({ method, route, status }) => ({ method, route, status }))).toEqual([
      { method: 'POST', route: '/v1/register', status: 201 },
      { method: 'GET', route: '/v1/komrades/:name', status: 200 },
      { method: 'GET', route: '/v1/komrades/:name', status: 404 },
      { method: 'GET', route: '(unmatched)', status: 404 },
      { method: 'POST', route: '/v1/mail/fetch', status: 200 },
      { method: 'GET', route: '/v1/health', status: 200 },
    ]);
    for (const record of logged) {
      expect(record.level).toBe('info');
      expect(typeof record.ms).toBe('number');
      expect(Object.keys(record).sort()).toEqual([
        'event',
        'level',
        'method',
        'ms',
        'route',
        'status',
        't',
      ]);
    }
    const text = lines.slice(from).join('\n');
    for (const secret of [
      'zebediah',
      'quintessa',
      toBase64url(komrade.keys.signPublic),
      toBase64url(komrade.keys.boxPublic),
      client.lastAuthorization,
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('the Operator process', () => {
  it('answers health, then says which signal stopped it, in words and in its log', async () => {
    const operator = await startOperatorProcess({ powBits: 4, config: { log: { level: 'info' } } });
    try {
      expect((await new TestClient(operator.url).get('/v1/health')).json).toEqual({
        status: 'ok',
      });
      await operator.stop();
      expect(await operator.exited).toBe(0);
      expect(operator.stdout()).toContain('Komrade Operator stopping (SIGTERM)\n');
      const stopping = operator
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((record) => record.event === 'operator.stopping');
      expect(stopping?.signal).toBe('SIGTERM');
    } finally {
      await operator.cleanup();
    }
  });
});
