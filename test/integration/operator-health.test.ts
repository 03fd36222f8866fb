/**
 * What a self-hoster watches: GET /v1/health, the per-request log line that never holds a name,
 * and a readable line when the Operator stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonLogger, silentLogger } from '../../common/logging/index.js';
import { toBase64url } from '../../common/wire/index.js';
import {
  SqliteStore,
  createOperatorServer,
  loadOperatorKeys,
  parseOperatorConfig,
  type OperatorServer,
} from '../../operator/index.js';
import { startOperatorProcess } from '../support/operator-process.js';
import { TestClient, makeKomrade } from '../support/operator-test-client.js';

const POW_BITS = 4;

let dataDir: string;
let store: SqliteStore;
let operator: OperatorServer;
let client: TestClient;
const lines: string[] = [];

function start(directory: string, db: SqliteStore, logger = silentLogger): OperatorServer {
  const config = parseOperatorConfig(
    [
      'http: { port: 0 }',
      `store: { dataDir: ${JSON.stringify(directory)} }`,
      `registration: { powBits: ${POW_BITS} }`,
    ].join('\n'),
  );
  const keys = loadOperatorKeys({ dataDir: directory, logger: silentLogger });
  return createOperatorServer({ config, store: db, keys, logger });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'komrade-operator-health-'));
  store = new SqliteStore(join(dataDir, 'operator.db'));
  const logger = createJsonLogger({
    level: 'info',
    write: (line) => {
      lines.push(line);
    },
  });
  operator = start(dataDir, store, logger);
  client = new TestClient(await operator.listen());
});

afterAll(async () => {
  await operator.close();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

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
    const dir = mkdtempSync(join(tmpdir(), 'komrade-operator-health-down-'));
    const db = new SqliteStore(join(dir, 'operator.db'));
    const down = start(dir, db);
    try {
      const probe = new TestClient(await down.listen());
      expect((await probe.get('/v1/health')).status).toBe(200);
      await db.close();
      const reply = await probe.get('/v1/health');
      expect(reply.status).toBe(503);
      expect(reply.json).toEqual({ status: 'unavailable' });
    } finally {
      await down.close();
      rmSync(dir, { recursive: true, force: true });
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
