/** No two names look alike: the Operator over real HTTP, and a registry migrated to skeletons. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
  type OperatorClient,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { ROUTES } from '../../common/wire/index.js';
import { SqliteStore } from '../../operator/index.js';
import { MIGRATIONS } from '../../operator/store/sqlite/migrations.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  type TestReply,
} from '../support/operator-test-client.js';
import { withOverrides } from '../support/operator-client-overrides.js';
import { startTestOperator } from '../support/operator-fixture.js';
import { codeOf, komrade } from './store-contract.js';

const POW_BITS = 8;
const NOW = 1_800_000_000_000;
/** The last schema before names had skeletons. */
const BEFORE_SKELETONS = 3;
const LOOKS_TAKEN = 'That name looks like an existing or reserved name; choose another.';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-names-'));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  });
  return dir;
}

/** An Operator on `dataDir` (a fresh one unless a database is already there). */
async function startOperator(
  dataDir: string,
): Promise<{ client: TestClient; store: SqliteStore; url: string }> {
  const { store, url, close } = await startTestOperator({ dataDir, powBits: POW_BITS });
  cleanups.push(close);
  return { client: new TestClient(url), store, url };
}

const messageOf = (reply: TestReply): string | undefined =>
  (reply.json as { error?: { message?: string } } | undefined)?.error?.message;

describe('registering look-alike names over HTTP', () => {
  it.each(['k0mrades', 'operat0r', 'admln', 'r00t', 'komrades_'])(
    'refuses %s, a look-alike of a reserved name, with 403 NAME_RESERVED',
    async (name) => {
      const { client } = await startOperator(tempDir());
      const reply = await client.register(makeKomrade(name), POW_BITS);
      expect(reply.status).toBe(403);
      expect(errorCode(reply)).toBe('NAME_RESERVED');
      expect(messageOf(reply)).toBe('That name looks like a reserved name; choose another.');
      expect(errorCode(await client.get(`${ROUTES.komrade}${name}`))).toBe('NAME_UNKNOWN');
    },
  );

  it('registers alice on a fresh Operator, then refuses a1ice and her other look-alikes', async () => {
    const { client } = await startOperator(tempDir());
    expect((await client.register(makeKomrade('alice'), POW_BITS)).status).toBe(201);
    for (const name of ['a1ice', 'aiice', 'al_ice', '4lice_']) {
      const reply = await client.register(makeKomrade(name), POW_BITS);
      expect(reply.status).toBe(409);
      expect(errorCode(reply)).toBe('NAME_TAKEN');
      // Says only that the name looks taken, never which name it looks like.
      expect(messageOf(reply)).toBe(LOOKS_TAKEN);
      expect(errorCode(await client.get(`${ROUTES.komrade}${name}`))).toBe('NAME_UNKNOWN');
    }
    // Lookups stay exact.
    expect((await client.get(`${ROUTES.komrade}alice`)).status).toBe(200);
    expect((await client.register(makeKomrade('alicia'), POW_BITS)).status).toBe(201);
  });

  it('lets exactly one of alice and a1ice win when both register at once', async () => {
    const { client } = await startOperator(tempDir());
    const replies = await Promise.all([
      client.register(makeKomrade('alice'), POW_BITS),
      client.register(makeKomrade('a1ice'), POW_BITS),
    ]);
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409]);
    const found = await Promise.all(
      ['alice', 'a1ice'].map((name) => client.get(`${ROUTES.komrade}${name}`)),
    );
    expect(found.map((r) => r.status).sort()).toEqual([200, 404]);
  });
});

describe('a registry from before skeletons', () => {
  /** A database as schema 3 left it: komrades (two of them already alike) and a collective. */
  function schema3Database(dataDir: string, names: readonly string[]): void {
    const db = new Database(join(dataDir, 'operator.db'));
    try {
      for (const sql of MIGRATIONS.slice(0, BEFORE_SKELETONS)) db.exec(sql);
      db.pragma(`user_version = ${BEFORE_SKELETONS}`);
      const insert = db.prepare(
        'INSERT INTO komrades (name, sign_key, box_key, registered_at, sig) VALUES (?, ?, ?, ?, ?)',
      );
      for (const k of names.map(komrade)) {
        insert.run(k.name, k.signKey, k.boxKey, k.registeredAt, k.sig);
      }
      db.prepare('INSERT INTO collectives (name, created_at) VALUES (?, ?)').run('portland', NOW);
    } finally {
      db.close();
    }
  }

  it('migrates, backfills every skeleton, keeps old look-alikes, and refuses new ones', async () => {
    const dataDir = tempDir();
    schema3Database(dataDir, ['alice', 'bob', 'john', 'j0hn']);
    const store = new SqliteStore(join(dataDir, 'operator.db'));
    cleanups.push(() => store.close());
    // Both of the names that already looked alike stay registered.
    for (const name of ['alice', 'bob', 'john', 'j0hn']) {
      expect((await store.lookup(name))?.name).toBe(name);
    }
    for (const name of ['a1ice', 'b0b', 'bob_', 'john_', 'j0hn_', 'p0rtland']) {
      expect(await codeOf(store.register(komrade(name)))).toBe('NAME_TAKEN');
      expect(await store.lookup(name)).toBeUndefined();
    }
    expect(
      await codeOf(
        store.createCollective({
          name: 'a1ice',
          genesis: { signed: randomBytes(8), sig: randomBytes(64) },
          createdAt: NOW,
        }),
      ),
    ).toBe('NAME_TAKEN');
    await store.register(komrade('carol'));
    await store.close();

    const db = new Database(join(dataDir, 'operator.db'), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.prepare('SELECT name, skeleton FROM komrades ORDER BY name').all()).toEqual([
        { name: 'alice', skeleton: 'allce' },
        { name: 'bob', skeleton: 'bob' },
        { name: 'carol', skeleton: 'carol' },
        { name: 'j0hn', skeleton: 'john' },
        { name: 'john', skeleton: 'john' },
      ]);
      expect(db.prepare('SELECT skeleton FROM collectives').all()).toEqual([
        { skeleton: 'portland' },
      ]);
    } finally {
      db.close();
    }
  });

  it('refuses look-alikes of the old names over HTTP after the upgrade', async () => {
    const dataDir = tempDir();
    schema3Database(dataDir, ['alice', 'bob']);
    const { client } = await startOperator(dataDir);
    for (const name of ['a1ice', 'b0b', 'p0rtland']) {
      const reply = await client.register(makeKomrade(name), POW_BITS);
      expect(reply.status).toBe(409);
      expect(errorCode(reply)).toBe('NAME_TAKEN');
      expect(messageOf(reply)).toBe(LOOKS_TAKEN);
    }
    expect((await client.register(makeKomrade('dave'), POW_BITS)).status).toBe(201);
  });

  it('refuses, in the database itself, a look-alike that skips the store', async () => {
    const dataDir = tempDir();
    const store = new SqliteStore(join(dataDir, 'operator.db'));
    await store.register(komrade('alice'));
    await store.close();
    const db = new Database(join(dataDir, 'operator.db'));
    try {
      const k = komrade('a1ice');
      expect(() =>
        db
          .prepare(
            'INSERT INTO komrades (name, sign_key, box_key, registered_at, sig, skeleton) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(k.name, k.signKey, k.boxKey, k.registeredAt, k.sig, 'allce'),
      ).toThrow(/looks like a taken name/);
      expect(db.prepare('SELECT COUNT(*) AS n FROM komrades').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });
});

describe('a KomradeClient registering look-alike names', () => {
  /** An HTTP client for the Operator at `url`, its connections closed after the test. */
  function httpAt(url: string): HttpOperatorClient {
    const dispatcher = new Agent();
    cleanups.push(() => dispatcher.close());
    return new HttpOperatorClient({ baseUrl: url, dispatcher, now: Date.now });
  }

  /** A client with its own store in `dir`, talking to `operator`. */
  function clientOf(dir: string, file: string, operator: OperatorClient): KomradeClient {
    const store = new SqliteLocalStore(join(dir, `${file}.db`), { storageKey: randomBytes(32) });
    cleanups.push(() => {
      store.close();
      return Promise.resolve();
    });
    return new KomradeClient({
      operator,
      store,
      keys: generateIdentityKeys(),
      now: Date.now,
      keyHolder: 'self',
    });
  }

  it('refuses a look-alike of a reserved name before any proof of work or request', async () => {
    const unreachable = withOverrides(httpAt('http://127.0.0.1:9'), {
      info: () => Promise.reject(new Error('the Operator was asked')),
      register: () => Promise.reject(new Error('the Operator was asked')),
    });
    const client = clientOf(tempDir(), 'reserved', unreachable);
    let solving = false;
    const refused = client.register('Operat0r', {
      onSolving: () => {
        solving = true;
      },
    });
    expect(await codeOf(refused)).toBe('NAME_RESERVED');
    expect(solving).toBe(false);
  });

  it('reports a look-alike of a taken name as NAME_TAKEN, not as an unknown name', async () => {
    const dir = tempDir();
    const { url } = await startOperator(dir);
    await clientOf(dir, 'alice', httpAt(url)).register('alice');
    expect(await codeOf(clientOf(dir, 'mallory', httpAt(url)).register('a1ice'))).toBe(
      'NAME_TAKEN',
    );
  });
});
