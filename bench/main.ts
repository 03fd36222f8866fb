/**
 * `npm run bench`: the Operator's throughput, latency and memory, each against a baseline measured
 * in the same run (a bare node:http server answering requests of the same size). Prints a table and
 * one JSON line (`BENCH_JSON {...}`). Targets are reported, never asserted.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import {
  generateIdentityKeys,
  initCrypto,
  randomBytes,
  type IdentityKeys,
} from '../common/crypto/index.js';
import {
  claimBytesForPow,
  proveClaim,
  sealLetter,
  signRequest,
  solveProofOfWork,
  toBase64url,
} from '../common/wire/index.js';
import { startOperatorProcess, type OperatorProcess } from '../test/support/operator-process.js';
import { percentile, runClosedLoop, type LoopResult } from './closed-loop.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '4');
const CONCURRENCY = [1, 8, 64] as const;
const BATCH = 32;
const LETTER_BYTES = 1024;

interface Komrade {
  readonly name: string;
  readonly keys: IdentityKeys;
}

/** `items[index]`, or a clear failure: the benchmark's arrays are built to be full. */
function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`benchmark bug: no item at ${index}`);
  return item;
}

/** Sends one request and returns its parsed JSON, throwing on any non-2xx answer. */
async function call(
  pool: Pool,
  path: string,
  payload: unknown,
  signer?: Komrade,
): Promise<unknown> {
  const body = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signer !== undefined) {
    headers['authorization'] = signRequest({
      method: 'POST',
      path,
      name: signer.name,
      at: Date.now(),
      nonce: randomBytes(16),
      body,
      signSecret: signer.keys.signSecret,
    });
  }
  const res = await pool.request({ path, method: 'POST', headers, body });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path} answered ${res.statusCode}: ${text}`);
  return JSON.parse(text) as unknown;
}

async function register(pool: Pool, name: string, powBits: number): Promise<Komrade> {
  const keys = generateIdentityKeys();
  const claim = { name, signKey: keys.signPublic, boxKey: keys.boxPublic };
  const pow = await solveProofOfWork(claimBytesForPow(claim), powBits);
  await call(pool, '/v1/register', {
    name,
    signKey: toBase64url(keys.signPublic),
    boxKey: toBase64url(keys.boxPublic),
    pop: toBase64url(proveClaim(claim, keys.signSecret)),
    pow: toBase64url(pow),
  });
  return { name, keys };
}

/** Starts the bare node:http baseline as its own process, like the Operator. */
async function startBareServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [join(HERE, 'bare-http-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const match = /listening (\d+)/.exec(chunk);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', () => {
      reject(new Error('baseline server exited'));
    });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

function summarize(result: LoopResult) {
  return {
    perSecond: Math.round(result.units / result.seconds),
    p50Ms: Number(percentile(result.latenciesMs, 50).toFixed(2)),
    p99Ms: Number(percentile(result.latenciesMs, 99).toFixed(2)),
  };
}

/** Resident and peak memory of a process, in MB, from /proc. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

const sealedSample = (): string => toBase64url(randomBytes(LETTER_BYTES + 48));

async function benchBaseline(): Promise<Record<number, ReturnType<typeof summarize>>> {
  const server = await startBareServer();
  const results: Record<number, ReturnType<typeof summarize>> = {};
  // The same body as an unbatched send: one sealed 1 KiB letter in JSON.
  const body = Buffer.from(
    JSON.stringify({ letters: [{ to: 'recipient_0', sealed: sealedSample() }] }),
  );
  try {
    for (const c of CONCURRENCY) {
      const pool = new Pool(server.url, { connections: c, pipelining: 1 });
      const result = await runClosedLoop(c, SECONDS * 1000, async () => {
        const res = await pool.request({
          path: '/v1/mail/send',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.body.text();
        return 1;
      });
      results[c] = summarize(result);
      await pool.close();
    }
  } finally {
    server.stop();
  }
  return results;
}

/** One worker: a sender writing to its own recipient, who fetches and acks what arrived. */
async function deliver(
  pool: Pool,
  sender: Komrade,
  recipient: Komrade,
  letters: readonly string[],
): Promise<number> {
  await call(
    pool,
    '/v1/mail/send',
    { letters: letters.map((sealed) => ({ to: recipient.name, sealed })) },
    sender,
  );
  let delivered = 0;
  while (delivered < letters.length) {
    const fetched = (await call(pool, '/v1/mail/fetch', { limit: 200 }, recipient)) as {
      letters: { id: string }[];
    };
    if (fetched.letters.length === 0) throw new Error('sent letters were not there to fetch');
    await call(pool, '/v1/mail/ack', { ids: fetched.letters.map((l) => l.id) }, recipient);
    delivered += fetched.letters.length;
  }
  return delivered;
}

async function benchLetters(operator: OperatorProcess) {
  const setup = new Pool(operator.url, { connections: 8 });
  const workers = Math.max(...CONCURRENCY);
  const pairs: { sender: Komrade; recipient: Komrade; sealed: string[] }[] = [];
  for (let i = 0; i < workers; i++) {
    const sender = await register(setup, `sender_${i}`, 0);
    const recipient = await register(setup, `recipient_${i}`, 0);
    // Real sealed letters, made before the clock starts: this measures the Operator, not libsodium.
    const sealed = Array.from({ length: BATCH }, () =>
      toBase64url(
        sealLetter(
          {
            v: 1,
            kind: 'text',
            from: sender.name,
            to: recipient.name,
            sentAt: Date.now(),
            id: randomBytes(16),
            body: 'x'.repeat(LETTER_BYTES - 48),
          },
          sender.keys.signSecret,
          recipient.keys.boxPublic,
        ),
      ),
    );
    pairs.push({ sender, recipient, sealed });
  }
  await setup.close();
  const results: Record<string, ReturnType<typeof summarize>> = {};
  for (const batch of [1, BATCH]) {
    for (const c of CONCURRENCY) {
      const pool = new Pool(operator.url, { connections: c, pipelining: 1 });
      const result = await runClosedLoop(c, SECONDS * 1000, (worker) => {
        const pair = at(pairs, worker);
        return deliver(pool, pair.sender, pair.recipient, pair.sealed.slice(0, batch));
      });
      results[`${batch === 1 ? 'unbatched' : `batch${batch}`}_c${c}`] = summarize(result);
      await pool.close();
    }
  }
  return results;
}

async function benchMemory() {
  const names = 10_000;
  const letters = 100_000;
  const operator = await startOperatorProcess({
    powBits: 0,
    config: { mail: { mailboxQuotaLetters: 1_000, maxBatchLetters: 64 } },
  });
  try {
    const pool = new Pool(operator.url, { connections: 16 });
    const idle = memoryOf(operator.pid);
    const komrades: Komrade[] = [];
    for (let i = 0; i < names; i += 16) {
      komrades.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(16, names - i) }, (_, j) =>
            register(pool, `k_${i + j}`, 0),
          ),
        )),
      );
    }
    const sender = at(komrades, 0);
    const batches = letters / 50;
    for (let b = 0; b < batches; b += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, batches - b) }, (_, j) =>
          call(
            pool,
            '/v1/mail/send',
            {
              letters: Array.from({ length: 50 }, (_, k) => ({
                to: at(komrades, ((b + j) * 50 + k) % names).name,
                sealed: sealedSample(),
              })),
            },
            sender,
          ),
        ),
      );
    }
    await pool.close();
    return { names, letters, idle, loaded: memoryOf(operator.pid) };
  } finally {
    await operator.cleanup();
  }
}

function printTable(rows: readonly (readonly string[])[]): void {
  const widths = at(rows, 0).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  for (const row of rows) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  }
}

async function main(): Promise<void> {
  await initCrypto();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.error(`Komrade benchmark on ${machine}; ${SECONDS} s per measurement`);

  console.error('baseline: bare node:http …');
  const baseline = await benchBaseline();

  console.error('letters through the Operator …');
  const operator = await startOperatorProcess({
    powBits: 0,
    config: { mail: { mailboxQuotaLetters: 5_000, maxBatchLetters: 64 } },
  });
  let letters: Awaited<ReturnType<typeof benchLetters>>;
  try {
    letters = await benchLetters(operator);
  } finally {
    await operator.cleanup();
  }

  console.error('memory with 100,000 letters for 10,000 names …');
  const memory = await benchMemory();

  const bestBaseline = Math.max(...CONCURRENCY.map((c) => baseline[c]?.perSecond ?? 0));
  const rows: string[][] = [
    ['measure', 'concurrency', 'per second', 'p50 ms', 'p99 ms', 'ratio to baseline'],
  ];
  for (const c of CONCURRENCY) {
    const b = baseline[c];
    if (b === undefined) continue;
    rows.push([
      'bare node:http requests',
      String(c),
      String(b.perSecond),
      String(b.p50Ms),
      String(b.p99Ms),
      '1.00',
    ]);
  }
  for (const [key, r] of Object.entries(letters)) {
    const [mode, conc] = key.split('_c');
    const c = Number(conc);
    const base = baseline[c]?.perSecond ?? Number.NaN;
    rows.push([
      `letters, ${mode ?? ''}`,
      String(c),
      String(r.perSecond),
      String(r.p50Ms),
      String(r.p99Ms),
      (r.perSecond / base).toFixed(2),
    ]);
  }
  printTable(rows);
  const bestUnbatched = Math.max(
    ...CONCURRENCY.map((c) => letters[`unbatched_c${c}`]?.perSecond ?? 0),
  );
  const bestBatched = Math.max(
    ...CONCURRENCY.map((c) => letters[`batch${BATCH}_c${c}`]?.perSecond ?? 0),
  );
  const targets = {
    unbatchedRatio: Number((bestUnbatched / bestBaseline).toFixed(2)),
    unbatchedTarget: 0.25,
    batchedRatio: Number((bestBatched / bestBaseline).toFixed(2)),
    batchedTarget: 1.0,
    rssMb: memory.loaded.rssMb,
    rssTargetMb: 150,
  };
  console.log(
    `\nbest letters/s ÷ best baseline requests/s: unbatched ${targets.unbatchedRatio} (target ≥ 0.25), batched ${targets.batchedRatio} (target ≥ 1.0)`,
  );
  console.log(
    `Operator RSS: ${memory.idle.rssMb} MB idle, ${memory.loaded.rssMb} MB (peak ${memory.loaded.peakMb} MB) with ${memory.letters} letters queued for ${memory.names} names (target ≤ 150 MB)`,
  );
  console.log(
    `BENCH_JSON ${JSON.stringify({ machine, seconds: SECONDS, baseline, letters, memory, targets })}`,
  );
}

await main();
