/**
 * Several Operators on one PostgreSQL (issue 15): letters per second end to end (token, anonymous
 * send, fetch with the previous ids acknowledged on it) through one, two and three Operator
 * processes sharing one database, beside one Operator on SQLite measured in the same run. Each
 * worker's sender keeps to one Operator and its recipient to the next (as an Onionbalance client
 * keeps to one instance per circuit), so with several Operators every letter is sent through one
 * and fetched through another.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { ROUTES } from '../common/wire/index.js';
import { startOperatorProcess, type OperatorProcess } from '../test/support/operator-process.js';
import { startPostgresCluster, type PostgresCluster } from '../test/support/postgres-cluster.js';
import { percentile, runClosedLoop } from './closed-loop.js';
import {
  callOperator,
  obtainTokens,
  openSession,
  registerKomrade,
  sealedLetter,
  sendAnonymously,
  tokenKeyOf,
  type BenchSession,
  type Komrade,
  type OperatorEndpoint,
  type WireToken,
} from './operator-calls.js';
import { cpuSeconds } from './processes.js';

/** Workers in every measurement (each its own sender and recipient). */
export const SCALING_CONCURRENCY = 48;
const LETTER_BYTES = 600;
const REFILL = 100;

/** One setup's figures. */
export interface ScalingRate {
  readonly setup: string;
  readonly operators: number;
  readonly lettersPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU of every Operator process per letter, in µs (the database's is not counted). */
  readonly operatorUsPerLetter: number;
  /** Letters per second over the SQLite Operator's. */
  readonly ratioToSqlite: number;
}

/** All setups of one run, and the database server's CPU per letter where it applies. */
export interface ScalingFigures {
  readonly concurrency: number;
  readonly rates: readonly ScalingRate[];
}

interface Worker {
  /** The sender's Operator. */
  readonly endpoint: OperatorEndpoint;
  /** The recipient's: the next one, so with several Operators every letter crosses two. */
  readonly fetchVia: OperatorEndpoint;
  readonly sender: Komrade & { session: BenchSession; tokens: WireToken[] };
  readonly recipient: Komrade & { session: BenchSession; unacked: string[] };
  readonly sealed: string;
  readonly tokenKey: Uint8Array;
}

const OPERATOR_CONFIG = { mail: { mailboxQuotaLetters: 5_000 }, tokens: { perDay: 1_000_000 } };

/** Starts `count` Operators on the database `url`, the later ones on copies of the first's keys. */
async function startShared(
  count: number,
  url: string,
  copies: string[],
): Promise<OperatorProcess[]> {
  const options = (dataDir?: string) => ({
    powBits: 0,
    ...(dataDir === undefined ? {} : { dataDir }),
    config: { ...OPERATOR_CONFIG, store: { kind: 'postgres', maxConnections: 16 } },
    env: { KOMRADE_DATABASE_URL: url },
  });
  const first = await startOperatorProcess(options());
  const started = [first];
  for (let i = 1; i < count; i++) {
    const copy = await mkdtemp(join(tmpdir(), 'komrade-bench-keys-'));
    copies.push(copy);
    await cp(first.dataDir, copy, { recursive: true });
    started.push(await startOperatorProcess(options(copy)));
  }
  return started;
}

/** Registers the workers' komrades and opens their sessions (sender at i mod n, recipient next). */
async function workersOn(operators: readonly OperatorProcess[], run: string): Promise<Worker[]> {
  const endpoints = operators.map((operator) => ({
    origin: operator.url,
    dispatcher: new Pool(operator.url, {
      connections: Math.ceil(SCALING_CONCURRENCY / operators.length),
      pipelining: 1,
    }),
  }));
  const first = endpoints[0] as OperatorEndpoint;
  const tokenKey = await tokenKeyOf(first);
  const workers: Worker[] = [];
  for (let i = 0; i < SCALING_CONCURRENCY; i++) {
    const endpoint = endpoints[i % endpoints.length] as OperatorEndpoint;
    const fetchVia = endpoints[(i + 1) % endpoints.length] as OperatorEndpoint;
    // Registered through the first, used through the worker's own: one registry.
    const from = await registerKomrade(first, `${run}_s${i}`, 0);
    const to = await registerKomrade(first, `${run}_r${i}`, 0);
    const session = await openSession(endpoint, from);
    workers.push({
      endpoint,
      fetchVia,
      sender: { ...from, session, tokens: await obtainTokens(endpoint, session, tokenKey, REFILL) },
      recipient: { ...to, session: await openSession(fetchVia, to), unacked: [] },
      sealed: sealedLetter(from, to, LETTER_BYTES),
      tokenKey,
    });
  }
  return workers;
}

/** One letter: a token (refilled 100 at a time), the send, a fetch carrying the last ids. */
async function deliver(worker: Worker): Promise<number> {
  const { endpoint, sender, recipient } = worker;
  if (sender.tokens.length === 0) {
    sender.tokens.push(...(await obtainTokens(endpoint, sender.session, worker.tokenKey, REFILL)));
  }
  const token = sender.tokens.pop();
  if (token === undefined) throw new Error('no token after a refill');
  await sendAnonymously(endpoint, recipient.name, worker.sealed, token);
  const ack = recipient.unacked.splice(0);
  const fetched = (await callOperator(
    worker.fetchVia,
    ROUTES.fetch,
    { limit: 200, ...(ack.length === 0 ? {} : { ack }) },
    recipient.session,
  )) as { letters: { id: string }[] };
  if (fetched.letters.length === 0) throw new Error('a sent letter was not there to fetch');
  recipient.unacked.push(...fetched.letters.map((l) => l.id));
  return fetched.letters.length;
}

async function measure(
  setup: string,
  operators: readonly OperatorProcess[],
  seconds: number,
): Promise<Omit<ScalingRate, 'ratioToSqlite'>> {
  const workers = await workersOn(operators, setup.replace(/\W/g, '_').toLowerCase());
  const cpuBefore = operators.reduce((sum, operator) => sum + cpuSeconds(operator.pid), 0);
  const result = await runClosedLoop(SCALING_CONCURRENCY, seconds * 1000, (i) =>
    deliver(workers[i] as Worker),
  );
  const cpuUs =
    (operators.reduce((sum, operator) => sum + cpuSeconds(operator.pid), 0) - cpuBefore) * 1e6;
  await Promise.all([...new Set(workers.map((w) => w.endpoint.dispatcher))].map((d) => d.close()));
  return {
    setup,
    operators: operators.length,
    lettersPerSecond: Math.round(result.units / result.seconds),
    p50Ms: Number(percentile(result.latenciesMs, 50).toFixed(2)),
    p99Ms: Number(percentile(result.latenciesMs, 99).toFixed(2)),
    operatorUsPerLetter: Math.round(cpuUs / Math.max(result.units, 1)),
  };
}

/**
 * Letters per second with one SQLite Operator, then one, two and three Operators on one
 * PostgreSQL cluster started for the run (fsync on, `synchronous_commit=on`), each setup on a
 * fresh database.
 */
export async function benchScaling(seconds: number): Promise<ScalingFigures> {
  const measured: Omit<ScalingRate, 'ratioToSqlite'>[] = [];
  const sqlite = await startOperatorProcess({ powBits: 0, config: OPERATOR_CONFIG });
  try {
    measured.push(await measure('SQLite', [sqlite], seconds));
  } finally {
    await sqlite.cleanup();
  }
  let cluster: PostgresCluster | undefined;
  const copies: string[] = [];
  try {
    cluster = await startPostgresCluster();
    for (const count of [1, 2, 3]) {
      const url = cluster.connectionString(await cluster.createDatabase());
      const operators = await startShared(count, url, copies);
      try {
        measured.push(await measure(`PostgreSQL × ${count}`, operators, seconds));
      } finally {
        await Promise.all(operators.map((operator) => operator.cleanup()));
      }
    }
  } finally {
    await Promise.all(copies.map((dir) => rm(dir, { recursive: true, force: true })));
    await cluster?.stop();
  }
  const base = measured[0]?.lettersPerSecond ?? 1;
  return {
    concurrency: SCALING_CONCURRENCY,
    rates: measured.map((rate) => ({
      ...rate,
      ratioToSqlite: Number((rate.lettersPerSecond / Math.max(base, 1)).toFixed(2)),
    })),
  };
}

/** The table: one row per setup. */
export function printScaling(figures: ScalingFigures): void {
  console.log(
    `\nLetters/s (token + send + fetch, ack on the next fetch), ${figures.concurrency} workers spread over the Operators:`,
  );
  console.log('setup             letters/s  × SQLite  p50 ms  p99 ms  Operator µs/letter');
  for (const r of figures.rates) {
    console.log(
      `${r.setup.padEnd(16)}  ${String(r.lettersPerSecond).padStart(9)}  ${r.ratioToSqlite.toFixed(2).padStart(8)}  ${r.p50Ms.toFixed(1).padStart(6)}  ${r.p99Ms.toFixed(1).padStart(6)}  ${String(r.operatorUsPerLetter).padStart(18)}`,
    );
  }
}
