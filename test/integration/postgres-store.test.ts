/**
 * The PostgreSQL store: the port contracts on a real PostgreSQL 15 cluster (a fresh database per
 * test), then what only several Operators on one database can get wrong: races through different
 * connections and stores, migrations started together, a crash after answered writes, and what
 * a deleted letter leaves on disk (measured and printed, not asserted).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blake2b, randomBytes } from '../../common/crypto/index.js';
import {
  MemoryMerkleTree,
  consistencyProof,
  leafHash,
  rootHash,
  verifyInclusion,
} from '../../common/transparency/index.js';
import { receiptLeaf } from '../../common/wire/index.js';
import { PostgresStore } from '../../operator/store/postgres/index.js';
import { POSTGRES_MIGRATIONS } from '../../operator/store/postgres/migrations.js';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster.js';
import { codeOf, describeStoreContract, komrade, type SharedBodies } from './store-contract.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

let cluster: PostgresCluster | undefined;

beforeAll(async () => {
  cluster = await startPostgresCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

function pg(): PostgresCluster {
  if (cluster === undefined) throw new Error('no cluster');
  return cluster;
}

/** A fresh, migrated database and `count` stores on it (each its own pool: an Operator each). */
async function storesOnFreshDatabase(
  count: number,
  maxConnections = 2,
): Promise<{ database: string; stores: PostgresStore[]; close: () => Promise<void> }> {
  const database = await pg().createDatabase();
  const connectionString = pg().connectionString(database);
  const stores: PostgresStore[] = [];
  for (let i = 0; i < count; i++) {
    stores.push(await PostgresStore.open({ connectionString, maxConnections }));
  }
  return {
    database,
    stores,
    close: async () => {
      await Promise.all(stores.map((store) => store.close()));
      await pg().query(`DROP DATABASE ${database}`);
    },
  };
}

describeStoreContract('PostgresStore', async () => {
  const { database, stores, close } = await storesOnFreshDatabase(1);
  const store = stores[0]!;
  return {
    store,
    sharedBodies: async () => {
      const { rows } = await pg().query<SharedBodies>(
        `SELECT count(*)::int AS count, COALESCE(sum(length(sealed)), 0)::int AS bytes
         FROM letter_bodies`,
        [],
        database,
      );
      return rows[0]!;
    },
    dispose: close,
  };
});

describe('PostgresStore: several Operators on one database', () => {
  const options = { receivedAt: NOW, expiresAt: NOW + 21 * DAY, quota: 5 };

  it('migrates once when several Operators start at once', async () => {
    const database = await pg().createDatabase();
    const connectionString = pg().connectionString(database);
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => PostgresStore.open({ connectionString, maxConnections: 1 })),
    );
    const { rows } = await pg().query<{ version: number }>(
      'SELECT version FROM komrade_schema ORDER BY version',
      [],
      database,
    );
    expect(rows.map((row) => row.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
    await stores[0]!.register(komrade('alice'));
    expect(await stores[5]!.lookup('alice')).toBeDefined();
    await Promise.all(stores.map((store) => store.close()));
    // A later start finds the schema current and changes nothing.
    const again = await PostgresStore.open({ connectionString });
    expect(await again.lookup('alice')).toBeDefined();
    await again.close();
    await pg().query(`DROP DATABASE ${database}`);
  });

  it('gives exactly one of 20 concurrent registrations of one name through 20 stores', async () => {
    const { stores, close } = await storesOnFreshDatabase(20, 1);
    try {
      const claims = stores.map(() => komrade('carol'));
      const codes = await Promise.all(stores.map((store, i) => codeOf(store.register(claims[i]!))));
      expect(codes.filter((code) => code === undefined)).toHaveLength(1);
      expect(codes.filter((code) => code === 'NAME_TAKEN')).toHaveLength(19);
      const winner = claims[codes.indexOf(undefined)]!;
      for (const store of stores.slice(0, 3)) {
        expect(hex((await store.lookup('carol'))!.signKey)).toBe(hex(winner.signKey));
      }
      // The log holds the winner's leaf only.
      expect((await stores[7]!.logHead()).size).toBe(1);
      expect((await stores[7]!.logEntries(0, 1))[0]?.name).toBe('carol');
    } finally {
      await close();
    }
  });

  it('gives exactly one of 20 concurrent look-alike registrations through 20 stores', async () => {
    const { database, stores, close } = await storesOnFreshDatabase(20, 1);
    try {
      const names = [
        'alice',
        'a1ice',
        'aiice',
        'al_ice',
        'alice_',
        '4lice',
        'a1lce',
        'ali_ce',
        'a_lice',
        'al1ce',
        'a11ce',
        '4l1ce',
        'alic_e',
        '_alice',
        'a1ice_',
        'aIice',
        'al_1ce',
        'a_1ice',
        '4lice_',
        'ali_c_e',
      ];
      const codes = await Promise.all(
        stores.map((store, i) => codeOf(store.register(komrade(names[i]!)))),
      );
      // Names the skeleton rules do not fold together would each win; count only the clash.
      const winners = names.filter((_, i) => codes[i] === undefined);
      expect(codes.every((code) => code === undefined || code === 'NAME_TAKEN')).toBe(true);
      const { rows } = await pg().query<{ skeleton: string; n: number }>(
        'SELECT skeleton, count(*)::int AS n FROM komrades GROUP BY skeleton',
        [],
        database,
      );
      expect(rows.every((row) => row.n === 1)).toBe(true);
      expect(winners.length).toBe(rows.length);
      expect(winners.length).toBeGreaterThanOrEqual(1);
    } finally {
      await close();
    }
  });

  it('lets one of 20 concurrent registrations reusing one key through 20 stores win', async () => {
    const { stores, close } = await storesOnFreshDatabase(20, 1);
    try {
      const shared = komrade('model').signKey;
      const codes = await Promise.all(
        stores.map((store, i) =>
          codeOf(store.register({ ...komrade(`user${i}`), signKey: shared })),
        ),
      );
      expect(codes.filter((code) => code === undefined)).toHaveLength(1);
      expect(codes.filter((code) => code === 'BAD_REQUEST')).toHaveLength(19);
      expect((await stores[0]!.logHead()).size).toBe(1);
    } finally {
      await close();
    }
  });

  it('spends a token once across stores: one letter stored, the rest TOKEN_SPENT', async () => {
    const { stores, close } = await storesOnFreshDatabase(10, 1);
    try {
      await stores[0]!.register(komrade('bob'));
      const inputHash = randomBytes(32);
      const epoch = Math.floor(NOW / DAY);
      const letters = stores.map(() => randomBytes(256));
      const codes = await Promise.all(
        stores.map((store, i) =>
          codeOf(
            store.spendAndDeposit(
              { epoch, inputHash, letterHash: blake2b(letters[i]!, 32) },
              { to: 'bob', sealed: letters[i]! },
              { ...options, quota: 100 },
            ),
          ),
        ),
      );
      expect(codes.filter((code) => code === undefined)).toHaveLength(1);
      expect(codes.filter((code) => code === 'TOKEN_SPENT')).toHaveLength(9);
      const { letters: held } = await stores[3]!.fetch('bob', 100, NOW);
      expect(held.map((l) => hex(l.sealed))).toEqual([hex(letters[codes.indexOf(undefined)]!)]);

      // The same letter retried through every store: one stores it, all answer its id.
      const sealed = randomBytes(256);
      const spend = { epoch, inputHash: randomBytes(32), letterHash: blake2b(sealed, 32) };
      const results = await Promise.all(
        stores.map((store) =>
          store.spendAndDeposit(spend, { to: 'bob', sealed }, { ...options, quota: 100 }),
        ),
      );
      expect(results.filter((r) => !r.repeated)).toHaveLength(1);
      expect(new Set(results.map((r) => hex(r.id))).size).toBe(1);
      expect((await stores[0]!.fetch('bob', 100, NOW)).letters).toHaveLength(2);
    } finally {
      await close();
    }
  });

  it('accepts a nonce once across stores (a replay sent to another Operator)', async () => {
    const { stores, close } = await storesOnFreshDatabase(10, 1);
    try {
      const nonce = randomBytes(16);
      const results = await Promise.all(
        stores.map((store) => store.remember('alice', nonce, NOW + 10)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('appends one of 10 concurrent collective events at one seq; the rest COLLECTIVE_CONFLICT', async () => {
    const { stores, close } = await storesOnFreshDatabase(10, 1);
    try {
      const genesis = { signed: Uint8Array.of(0), sig: randomBytes(64) };
      await stores[0]!.createCollective({ name: 'portland', genesis, createdAt: NOW });
      for (const seq of [1, 2, 3]) {
        const events = stores.map((_, i) => ({
          signed: Uint8Array.of(seq, i),
          sig: randomBytes(64),
        }));
        const codes = await Promise.all(
          stores.map((store, i) =>
            codeOf(store.appendCollectiveEvent('portland', seq, events[i]!)),
          ),
        );
        expect(codes.filter((code) => code === undefined)).toHaveLength(1);
        expect(codes.filter((code) => code === 'COLLECTIVE_CONFLICT')).toHaveLength(9);
      }
      const log = await stores[9]!.collectiveEvents('portland', 0, 100);
      expect(log.map((e) => e.signed[0])).toEqual([0, 1, 2, 3]);
    } finally {
      await close();
    }
  });

  it('keeps a mailbox within its quota when Operators deposit at once', async () => {
    const { stores, close } = await storesOnFreshDatabase(10, 1);
    try {
      await stores[0]!.register(komrade('bob'));
      const codes = await Promise.all(
        stores.map((store, i) =>
          codeOf(store.deposit([{ to: 'bob', sealed: Uint8Array.of(i) }], options)),
        ),
      );
      expect(codes.filter((code) => code === undefined)).toHaveLength(5);
      expect(codes.filter((code) => code === 'MAILBOX_FULL')).toHaveLength(5);
      expect((await stores[0]!.fetch('bob', 100, NOW)).letters).toHaveLength(5);
    } finally {
      await close();
    }
  });

  it('deletes a shared body when its last two recipients ack through two Operators at once', async () => {
    const { database, stores, close } = await storesOnFreshDatabase(2, 1);
    try {
      await stores[0]!.register(komrade('ann'));
      await stores[0]!.register(komrade('ben'));
      for (let round = 0; round < 10; round++) {
        await stores[0]!.depositShared(
          {
            body: randomBytes(100),
            envelopes: [
              { to: 'ann', sealed: Uint8Array.of(1) },
              { to: 'ben', sealed: Uint8Array.of(2) },
            ],
          },
          options,
        );
        const [ann] = (await stores[0]!.fetch('ann', 1, NOW)).letters;
        const [ben] = (await stores[1]!.fetch('ben', 1, NOW)).letters;
        expect(
          await Promise.all([stores[0]!.ack('ann', [ann!.id]), stores[1]!.ack('ben', [ben!.id])]),
        ).toEqual([1, 1]);
        const { rows } = await pg().query<{ n: number }>(
          'SELECT count(*)::int AS n FROM letter_bodies',
          [],
          database,
        );
        expect(rows[0]?.n).toBe(0);
      }
    } finally {
      await close();
    }
  });

  it('hands each one-time prekey out once across Operators', async () => {
    const { stores, close } = await storesOnFreshDatabase(8, 1);
    try {
      await stores[0]!.register(komrade('bob'));
      await stores[0]!.storePrekeys(
        'bob',
        {
          signedPrekey: {
            id: 1,
            publicKey: Uint8Array.of(5, ...randomBytes(32)),
            signature: randomBytes(64),
          },
          kyberPrekey: {
            id: 1,
            publicKey: Uint8Array.of(8, ...randomBytes(1_568)),
            signature: randomBytes(64),
          },
          oneTimePrekeys: [1, 2, 3].map((id) => ({
            id,
            publicKey: Uint8Array.of(5, ...randomBytes(32)),
          })),
        },
        500,
      );
      const epoch = Math.floor(NOW / DAY);
      const bundles = await Promise.all(
        stores.map((store) =>
          store.takeBundle(
            { epoch, inputHash: randomBytes(32), letterHash: blake2b(Uint8Array.of(1), 32) },
            'bob',
            { hour: Math.floor(NOW / 3_600_000), perHour: 100 },
          ),
        ),
      );
      const ids = bundles.flatMap((b) =>
        b.oneTimePrekey === undefined ? [] : [b.oneTimePrekey.id],
      );
      expect(ids.sort()).toEqual([1, 2, 3]);
    } finally {
      await close();
    }
  });

  it('keeps the registry log gapless and provable with registrations through several stores', async () => {
    const { database, stores, close } = await storesOnFreshDatabase(5, 2);
    try {
      const legacy = { ...komrade('zed'), ratchetKey: null };
      await stores[0]!.register(legacy);
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => stores[i % 5]!.register(komrade(`member${i}`))),
      );
      await stores[2]!.setRatchetKey('zed', Uint8Array.of(5, ...randomBytes(32)), randomBytes(64));
      const head = await stores[1]!.logHead();
      expect(head.size).toBe(42);
      const entries = await stores[3]!.logEntries(0, head.size);
      const tree = new MemoryMerkleTree();
      for (const entry of entries) tree.append(leafHash(receiptLeaf(entry)));
      expect(hex(rootHash(tree))).toBe(hex(head.rootHash));
      expect(entries.filter((e) => e.name === 'zed').map((e) => e.ratchetKey === null)).toEqual([
        true,
        false,
      ]);
      const { head: at, proofs } = await stores[4]!.logInclusions(['zed', 'member7', 'nobody']);
      expect(at.size).toBe(42);
      expect(proofs.has('nobody')).toBe(false);
      for (const name of ['zed', 'member7']) {
        const proof = proofs.get(name)!;
        expect(
          verifyInclusion(
            leafHash(receiptLeaf(proof.entry)),
            proof.index,
            at.size,
            proof.hashes,
            at.rootHash,
          ),
        ).toBe(true);
      }
      expect(proofs.get('zed')?.entry.ratchetKey).not.toBeNull();
      for (const [from, to] of [
        [1, 42],
        [13, 32],
        [42, 42],
      ] as const) {
        expect((await stores[0]!.logConsistency(from, to)).map(hex)).toEqual(
          consistencyProof(tree, from, to).map(hex),
        );
      }
      expect(await codeOf(stores[0]!.logConsistency(0, 5))).toBe('BAD_REQUEST');
      expect(await codeOf(stores[0]!.logConsistency(5, 43))).toBe('BAD_REQUEST');
      expect(await codeOf(stores[0]!.logInclusionAt(42, 42))).toBe('BAD_REQUEST');
      expect(await codeOf(stores[0]!.logEntries(40, 43))).toBe('BAD_REQUEST');
      expect(await codeOf(stores[0]!.logEntries(-1, 3))).toBe('BAD_REQUEST');
      // The log is append-only in the database itself.
      await expect(
        pg().query('DELETE FROM registry_log WHERE idx = 0', [], database),
      ).rejects.toThrow(/append-only/);
    } finally {
      await close();
    }
  });

  it('keeps every answered write through a crash of the server', async () => {
    const { database, stores, close } = await storesOnFreshDatabase(1);
    const store = stores[0]!;
    await store.register(komrade('alice'));
    const [id] = await store.deposit([{ to: 'alice', sealed: Uint8Array.of(7, 7) }], options);
    expect(await store.remember('alice', Uint8Array.of(1), NOW + 10)).toBe(true);
    await store.durable();
    await store.close();
    await pg().crashAndRestart();
    const reopened = await PostgresStore.open({
      connectionString: pg().connectionString(database),
    });
    try {
      expect(await reopened.lookup('alice')).toBeDefined();
      expect((await reopened.fetch('alice', 10, NOW)).letters.map((l) => hex(l.id))).toEqual([
        hex(id!),
      ]);
      expect(await reopened.remember('alice', Uint8Array.of(1), NOW + 10)).toBe(false);
      expect((await reopened.logHead()).size).toBe(1);
    } finally {
      await reopened.close();
      await close();
    }
  });
});

describe('PostgresStore: what a deleted letter leaves on disk (measured, not asserted)', () => {
  /** How many times `marker` occurs in `content`. */
  function occurrences(content: Buffer, marker: Buffer): number {
    let n = 0;
    for (let at = content.indexOf(marker); at !== -1; at = content.indexOf(marker, at + 1)) n++;
    return n;
  }
  /** The WAL segment files (recycled segments keep their old bytes until rewritten). */
  function walFiles(dataDir: string): string[] {
    const dir = join(dataDir, 'pg_wal');
    return readdirSync(dir)
      .filter((name) => /^[0-9A-F]{24}$/.test(name))
      .map((name) => join(dir, name))
      .filter((file) => statSync(file).isFile());
  }

  it('reports where deleted letters’ ciphertext stays: heap, TOAST and WAL files', async () => {
    const { database, stores, close } = await storesOnFreshDatabase(1);
    const store = stores[0]!;
    try {
      await store.register(komrade('bob'));
      const dataDir = pg().dataDir;
      const sql = (text: string) => pg().query(text, [], database);
      /** The main fork's files (and 1 GB segments) of the letters table and its TOAST table. */
      const relationFiles = async (): Promise<{ heap: string[]; toast: string[] }> => {
        const { rows } = await pg().query<{ kind: string; path: string }>(
          `SELECT 'heap' AS kind, pg_relation_filepath('letters') AS path
           UNION ALL
           SELECT 'toast', pg_relation_filepath(reltoastrelid) FROM pg_class
           WHERE oid = 'letters'::regclass`,
          [],
          database,
        );
        const files = { heap: [] as string[], toast: [] as string[] };
        for (const row of rows) {
          const base = join(dataDir, row.path);
          const dir = join(base, '..');
          const stem = base.slice(dir.length + 1);
          files[row.kind === 'heap' ? 'heap' : 'toast'] = readdirSync(dir)
            .filter((name) => name === stem || name.startsWith(`${stem}.`))
            .map((name) => join(dir, name));
        }
        return files;
      };

      // Twenty small letters (kept in the heap page) and twenty large ones (TOASTed), each
      // with its own marker; the first, a middle and the last of each are deleted.
      const options = { receivedAt: NOW, expiresAt: NOW + DAY, quota: 1_000 };
      const letter = (size: number) => randomBytes(size);
      const small = Array.from({ length: 20 }, () => letter(300));
      const large = Array.from({ length: 20 }, () => letter(20_000));
      const smallIds = await store.deposit(
        small.map((sealed) => ({ to: 'bob', sealed })),
        options,
      );
      const largeIds = await store.deposit(
        large.map((sealed) => ({ to: 'bob', sealed })),
        options,
      );
      const positions = { first: 0, middle: 10, last: 19 } as const;
      const markers = Object.entries(positions).flatMap(([position, i]) => [
        { label: `small ${position}`, bytes: Buffer.from(small[i]!.subarray(100, 148)) },
        { label: `large ${position}`, bytes: Buffer.from(large[i]!.subarray(9_000, 9_048)) },
      ]);
      const checkpoint = () => sql('CHECKPOINT');
      const measure = async (stage: string) => {
        const files = await relationFiles();
        const wal = walFiles(dataDir);
        const contents = {
          heap: files.heap.map((file) => readFileSync(file)),
          toast: files.toast.map((file) => readFileSync(file)),
          wal: wal.map((file) => readFileSync(file)),
        };
        const found: Record<string, string> = {};
        for (const marker of markers) {
          const where = (['heap', 'toast', 'wal'] as const).flatMap((kind) => {
            const n = contents[kind].reduce(
              (sum, content) => sum + occurrences(content, marker.bytes),
              0,
            );
            return n === 0 ? [] : [`${kind}×${n}`];
          });
          found[marker.label] = where.length === 0 ? 'gone' : where.join('+');
        }
        // eslint-disable-next-line no-console -- the lead documents these figures (issue 15)
        console.log(
          `[postgres deletion] ${stage}: ${JSON.stringify(found)} (WAL segments on disk: ${wal.length})`,
        );
        return found;
      };

      await checkpoint();
      const stored = await measure('stored, after CHECKPOINT');
      // Only meaningful if the bytes are found where they were written.
      expect(stored['small middle']).toContain('heap');
      expect(stored['large middle']).toContain('toast');

      const deleted = Object.values(positions).flatMap((i) => [smallIds[i]!, largeIds[i]!]);
      expect(await store.ack('bob', deleted)).toBe(6);
      await checkpoint();
      await measure('acked (DELETE committed), after CHECKPOINT');
      await sql('VACUUM letters');
      await checkpoint();
      await measure('after VACUUM and CHECKPOINT');
      await store.deposit(
        [
          ...Array.from({ length: 3 }, () => letter(300)),
          ...Array.from({ length: 3 }, () => letter(20_000)),
        ].map((sealed) => ({ to: 'bob', sealed })),
        options,
      );
      await checkpoint();
      await measure('after 6 new letters of the same sizes, and CHECKPOINT');
      for (let i = 0; i < 3; i++) {
        await sql('SELECT pg_switch_wal()');
        await checkpoint();
      }
      await measure('after 3 WAL switches, each with a CHECKPOINT');
      await sql('VACUUM FULL letters');
      await checkpoint();
      await measure('after VACUUM FULL and CHECKPOINT (table rewritten, old files unlinked)');
    } finally {
      await close();
    }
  });
});
