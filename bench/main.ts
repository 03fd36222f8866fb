/**
 * `npm run bench`: the Operator's throughput, latency and memory, each against a baseline measured
 * in the same run. Prints a table and one JSON line (`BENCH_JSON {...}`). Targets are reported,
 * never asserted. `BENCH_SECONDS` sets the length of each measurement (default 4).
 */
import { cpus, totalmem } from 'node:os';
import { initCrypto } from '../common/crypto/index.js';
import { BATCH, CONCURRENCY, benchBaseline, benchLetters, benchMemory } from './letters.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '4');

function printTable(rows: readonly (readonly string[])[]): void {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  for (const row of rows) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  }
}

async function main(): Promise<void> {
  await initCrypto();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.error(`Komrade benchmark on ${machine}; ${SECONDS} s per measurement`);

  console.error('baseline: bare node:http …');
  const baseline = await benchBaseline(SECONDS);
  console.error('letters through the Operator …');
  const letters = await benchLetters(SECONDS);
  console.error('memory with 100,000 letters for 10,000 names …');
  const memory = await benchMemory();

  const rows: string[][] = [
    ['measure', 'concurrency', 'per second', 'p50 ms', 'p99 ms', 'ratio to baseline'],
  ];
  for (const c of CONCURRENCY) {
    const b = baseline[c];
    if (b === undefined) continue;
    rows.push([
      'bare node:http requests',
      `${c}`,
      `${b.perSecond}`,
      `${b.p50Ms}`,
      `${b.p99Ms}`,
      '1.00',
    ]);
  }
  for (const [key, r] of Object.entries(letters)) {
    const [mode = '', conc = ''] = key.split('_c');
    const base = baseline[Number(conc)]?.perSecond ?? Number.NaN;
    rows.push([
      `letters, ${mode}`,
      conc,
      `${r.perSecond}`,
      `${r.p50Ms}`,
      `${r.p99Ms}`,
      (r.perSecond / base).toFixed(2),
    ]);
  }
  printTable(rows);

  const best = (pick: (c: number) => number | undefined) =>
    Math.max(...CONCURRENCY.map((c) => pick(c) ?? 0));
  const bestBaseline = best((c) => baseline[c]?.perSecond);
  const targets = {
    unbatchedRatio: Number(
      (best((c) => letters[`unbatched_c${c}`]?.perSecond) / bestBaseline).toFixed(2),
    ),
    unbatchedTarget: 0.25,
    batchedRatio: Number(
      (best((c) => letters[`batch${BATCH}_c${c}`]?.perSecond) / bestBaseline).toFixed(2),
    ),
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
