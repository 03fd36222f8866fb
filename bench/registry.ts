/**
 * The registry's transparency log: proof sizes and times at 1M leaves in memory
 * (`benchMerkle`), and what the log costs a registration on a real SQLite store. The baseline
 * is the same store opened with `appendToLog: false` (a bench-only option: the same transaction
 * without the leaf and its parent nodes), both prefilled with the same number of names, measured
 * in alternating rounds. Two ratios: the store's `register` alone, and a registration as the
 * register route does it minus HTTP and proof of work (sign the receipt, store it, and with the
 * log also read its proof and sign the checkpoint of the new size). Then the time to read a proof
 * and a head from SQLite at the prefilled size, and the bytes a leaf adds to the file.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateIdentityKeys, randomBytes } from '../common/crypto/index.js';
import { benchMerkle, type MerkleBenchResult } from '../common/transparency/index.js';
import { signReceipt } from '../common/wire/index.js';
import { SqliteStore, type RegisteredKomrade } from '../operator/index.js';
import { CheckpointSigner, provenReceipt } from '../operator/registry-log/index.js';

/** Names already registered before the rates are measured (`BENCH_REGISTRY_PREFILL`). */
const PREFILL = Number(process.env['BENCH_REGISTRY_PREFILL'] ?? '100000');
/** Registrations per event-loop turn (one transaction, one fsync), as under load. */
const BATCH = 32;
/** Letters no look-alike rule folds together, so every counter is its own skeleton. */
const ALPHABET = 'abcdefghjkpqstxyz';

export interface RegistryFigures {
  readonly merkle: MerkleBenchResult;
  readonly prefill: number;
  /** `register` alone, registrations per second. */
  readonly storeOnPerSec: number;
  readonly storeOffPerSec: number;
  /** Sign + register (+ proof and checkpoint with the log), registrations per second. */
  readonly routeOnPerSec: number;
  readonly routeOffPerSec: number;
  /** At the prefilled size, from SQLite: a name's proof with its head, and a consistency proof. */
  readonly proofUs: number;
  readonly consistencyUs: number;
  /** What the log adds to the database file per leaf (leaf row, nodes, indexes). */
  readonly bytesPerLeaf: number;
}

function nameOf(n: number): string {
  let name = '';
  for (let rest = n; ; rest = Math.floor(rest / ALPHABET.length)) {
    name = `${ALPHABET.charAt(rest % ALPHABET.length)}${name}`;
    if (rest < ALPHABET.length) break;
  }
  return `k${name}`;
}

function record(name: string): Omit<RegisteredKomrade, 'sig'> {
  return {
    name,
    signKey: randomBytes(32),
    boxKey: randomBytes(32),
    keyHolder: 'self',
    ratchetKey: Uint8Array.of(0x05, ...randomBytes(32)),
    registeredAt: Date.now(),
  };
}

function fileBytes(file: string): number {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // No WAL after a clean close.
    }
  }
  return total;
}

/** Measures each for about `ms` (in total, split over alternating rounds). */
export async function benchRegistry(ms: number): Promise<RegistryFigures> {
  const merkle = benchMerkle();
  const keys = generateIdentityKeys();
  const checkpoints = new CheckpointSigner(keys);
  const dir = mkdtempSync(join(tmpdir(), 'komrade-bench-registry-'));
  const onFile = join(dir, 'on.db');
  const offFile = join(dir, 'off.db');
  const on = new SqliteStore(onFile);
  const off = new SqliteStore(offFile, { appendToLog: false });
  let closed = false;
  try {
    let next = 0;
    for (let start = 0; start < PREFILL; start += 1000) {
      const count = Math.min(1000, PREFILL - start);
      const batch = Array.from({ length: count }, () => ({
        ...record(nameOf(next++)),
        sig: randomBytes(64),
      }));
      await Promise.all(batch.flatMap((k) => [on.register(k), off.register(k)]));
      await Promise.all([on.durable(), off.durable()]);
    }

    // One round: BATCH registrations in one turn, then their commit and fsync.
    const round = async (store: SqliteStore, route: boolean, withLog: boolean): Promise<void> => {
      const names = Array.from({ length: BATCH }, () => nameOf(next++));
      await Promise.all(
        names.map(async (name) => {
          const receipt = route
            ? signReceipt(record(name), keys.signSecret)
            : { ...record(name), sig: randomBytes(64) };
          await store.register(receipt);
          if (route && withLog) await provenReceipt(store, checkpoints, name);
        }),
      );
      await store.durable();
    };
    // Alternating rounds share the machine's noise; each side's own time is what counts.
    const rate = async (route: boolean): Promise<{ onPerSec: number; offPerSec: number }> => {
      let onMs = 0;
      let offMs = 0;
      let rounds = 0;
      const until = performance.now() + ms / 2;
      while (performance.now() < until || rounds < 20) {
        let started = performance.now();
        await round(on, route, true);
        onMs += performance.now() - started;
        started = performance.now();
        await round(off, route, false);
        offMs += performance.now() - started;
        rounds += 1;
      }
      const done = rounds * BATCH;
      return { onPerSec: (done / onMs) * 1000, offPerSec: (done / offMs) * 1000 };
    };
    const store = await rate(false);
    const route = await rate(true);

    const head = await on.logHead();
    const samples = 2000;
    let started = performance.now();
    for (let i = 0; i < samples; i += 1) {
      await on.logInclusions([nameOf(Math.floor(Math.random() * PREFILL))]);
    }
    const proofUs = ((performance.now() - started) * 1000) / samples;
    started = performance.now();
    for (let i = 0; i < samples; i += 1) {
      await on.logConsistency(1 + Math.floor(Math.random() * (head.size - 1)), head.size);
    }
    const consistencyUs = ((performance.now() - started) * 1000) / samples;

    await Promise.all([on.close(), off.close()]);
    closed = true;
    const bytesPerLeaf = (fileBytes(onFile) - fileBytes(offFile)) / head.size;
    return {
      merkle,
      prefill: PREFILL,
      storeOnPerSec: store.onPerSec,
      storeOffPerSec: store.offPerSec,
      routeOnPerSec: route.onPerSec,
      routeOffPerSec: route.offPerSec,
      proofUs,
      consistencyUs,
      bytesPerLeaf,
    };
  } finally {
    if (!closed) await Promise.all([on.close(), off.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the figures. */
export function printRegistry(figures: RegistryFigures): void {
  const { merkle } = figures;
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
  console.log(
    `\nRegistry log, ${merkle.leaves.toLocaleString('en')} leaves in memory: appended in ${Math.round(merkle.appendMillis)} ms, root ${merkle.rootMicros.toFixed(1)} µs, tree ${(merkle.treeBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  for (const [what, proof] of [
    ['inclusion', merkle.inclusion],
    ['consistency', merkle.consistency],
  ] as const) {
    console.log(
      `  ${what} proof: ${proof.meanHashes.toFixed(1)} hashes on average, at most ${proof.maxHashes} (${kib(proof.maxBytes)}); build ${proof.buildMicros.toFixed(1)} µs, verify ${proof.verifyMicros.toFixed(1)} µs`,
    );
  }
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log(
    `Registrations on SQLite with ${figures.prefill.toLocaleString('en')} names, ${BATCH} per commit: store.register ${Math.round(figures.storeOnPerSec)}/s with the log, ${Math.round(figures.storeOffPerSec)}/s without = ${ratio(figures.storeOnPerSec, figures.storeOffPerSec)} ×; with the receipt signed (and, with the log, its proof read and checkpoint signed) ${Math.round(figures.routeOnPerSec)}/s against ${Math.round(figures.routeOffPerSec)}/s = ${ratio(figures.routeOnPerSec, figures.routeOffPerSec)} ×`,
  );
  console.log(
    `  from SQLite at that size: a name's proof and head ${figures.proofUs.toFixed(0)} µs, a consistency proof ${figures.consistencyUs.toFixed(0)} µs; ${Math.round(figures.bytesPerLeaf)} bytes of database per leaf`,
  );
}
