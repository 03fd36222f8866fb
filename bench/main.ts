/**
 * `npm run bench`: the Operator's throughput, latency and memory, each against a baseline measured
 * in the same run. Prints a table and one JSON line (`BENCH_JSON {...}`). Targets are reported,
 * never asserted. `BENCH_SECONDS` sets the length of each measurement (default 4).
 */
import { cpus, totalmem } from 'node:os';
import { initCrypto } from '../common/crypto/index.js';
import { benchAnonymousSend } from './anonymous-send.js';
import { benchTokenCrypto } from './token-crypto.js';
import { BATCH, CONCURRENCY, benchBaseline, benchLetters, benchMemory } from './letters.js';
import { benchCanonical } from './canonical.js';
import { FANOUT_SIZES, benchCollectiveFanout } from './collective-fanout.js';
import { benchCollectiveLog } from './collectives.js';
import { benchPush, printPush } from './push.js';
import { benchTelegram } from './telegram.js';
import { benchTor } from './tor.js';

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
  console.error('anonymous sends and tokens: Operator CPU per operation …');
  const anonymous = await benchAnonymousSend(SECONDS);
  console.error('token cryptography against one Ed25519 verification …');
  const tokenCrypto = benchTokenCrypto(SECONDS * 1000);
  console.error('memory with 100,000 letters for 10,000 names …');
  const memory = await benchMemory();
  console.error('over Tor: a private Tor network on loopback …');
  const tor = await benchTor();
  console.error('Telegram: adapter + Operator against the Bot API emulator …');
  const telegram = await benchTelegram();
  console.error('collectives: verifying a 10,000-event log …');
  const collectiveLogMs = benchCollectiveLog();
  console.error('canonical CBOR: tiny items and one big item, against a plain cborg decode …');
  const canonical = benchCanonical();
  console.error(`collectives: one message fanned out to ${FANOUT_SIZES.join(', ')} members …`);
  const fanout = await benchCollectiveFanout();
  console.error('push: CLI → Telegram over Tor, idle CPU with 1,000 and 10,000 identities …');
  const push = await benchPush();

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
    `\nbest letters/s ÷ best baseline requests/s (every letter one anonymous send, its token refilled 100 at a time): unbatched ${targets.unbatchedRatio} (target ≥ 0.25), batched ${targets.batchedRatio} (target ≥ 1.0)`,
  );
  console.log(
    `Operator RSS: ${memory.idle.rssMb} MB idle, ${memory.loaded.rssMb} MB (peak ${memory.loaded.peakMb} MB) with ${memory.letters} letters queued for ${memory.names} names (target ≤ 150 MB)`,
  );

  console.log('');
  const bareUs = anonymous.bareRequest.cpuUs;
  printTable([
    ['Operator CPU per operation', 'µs', 'operations', 'ratio to a bare request'],
    ...(
      [
        ['bare node:http request (same body size)', anonymous.bareRequest],
        ['signed request (fetch, empty mailbox)', anonymous.signedRequest],
        ['anonymous send (token checked, spent, stored)', anonymous.anonymousSend],
        ['token issued (batches of 50)', anonymous.tokenIssued],
      ] as const
    ).map(([what, r]) => [what, `${r.cpuUs}`, `${r.ops}`, (r.cpuUs / bareUs).toFixed(2)]),
  ]);
  const verifyUs = tokenCrypto.ed25519VerifyUs;
  console.log(
    `token check ${tokenCrypto.tokenCheckUs.toFixed(1)} µs = ${(tokenCrypto.tokenCheckUs / verifyUs).toFixed(2)} × one Ed25519 verification (${verifyUs.toFixed(1)} µs, same libsodium build); uncached ${(tokenCrypto.tokenCheckUncachedUs / verifyUs).toFixed(2)} ×; issuing ${(tokenCrypto.tokenIssueUs / verifyUs).toFixed(2)} × per token (target: check ≤ 1 ×)`,
  );

  const torRows: string[][] = [
    ['over Tor (p50 / p99 ms)', 'through the onion', 'on loopback', 'target met'],
  ];
  for (const kind of ['floor', 'send', 'fetch', 'ack'] as const) {
    const met = kind === 'floor' ? '' : tor.withinTarget[kind] ? 'yes' : 'NO';
    torRows.push([
      kind,
      `${tor.overTor[kind].p50Ms} / ${tor.overTor[kind].p99Ms}`,
      `${tor.loopback[kind].p50Ms} / ${tor.loopback[kind].p99Ms}`,
      met,
    ]);
  }
  console.log('');
  printTable(torRows);
  console.log(
    `Operator start → onion reachable: ${tor.startToReachableMs} ms; circuits built during ${tor.samples * 4} requests: ${tor.circuitsBuiltDuringRequests} (target: p50 over Tor ≤ (floor + loopback) × 1.1, no circuit per request)`,
  );

  console.log('');
  printTable([
    [
      'Telegram → Telegram',
      'letters/s',
      'bot msgs/s',
      'p50 ms',
      'p99 ms',
      'lost',
      'shown twice',
      '429s',
    ],
    ...(['unlimited', 'limited'] as const).map((mode) => {
      const r = telegram[mode];
      return [
        mode === 'limited' ? 'platform limits on' : 'no limits',
        `${r.lettersPerSecond}`,
        `${r.botMessagesPerSecond}`,
        `${r.p50Ms}`,
        `${r.p99Ms}`,
        `${r.lost}`,
        `${r.shownTwice}`,
        `${r.tooManyRequests}`,
      ];
    }),
  ]);
  console.log(`\nCollective log of 10,000 events verified in ${Math.round(collectiveLogMs)} ms`);
  console.log('');
  printTable([
    ['canonical decode', 'bytes', 'ns per byte', 'cborg decode ns per byte', 'ratio'],
    ...canonical.map((r) => [
      r.input,
      `${r.bytes}`,
      `${r.nsPerByte}`,
      `${r.cborgNsPerByte}`,
      `${r.ratio}`,
    ]),
  ]);
  console.log('');
  printTable([
    [
      'collective message',
      'seal ms',
      'Operator ms',
      'total ms',
      'body bytes',
      'envelope bytes',
      'letters: total ms',
      'letters: bytes',
      'time ratio',
      'bytes ratio',
    ],
    ...fanout.map((r) => [
      `${r.members} members`,
      `${r.sealMs}`,
      `${r.operatorMs}`,
      `${r.totalMs}`,
      `${r.bodyBytes}`,
      `${r.envelopeBytes}`,
      `${r.baseline.totalMs}`,
      `${r.baseline.storedBytes}`,
      (r.totalMs / r.baseline.totalMs).toFixed(2),
      ((r.bodyBytes + r.envelopeBytes) / r.baseline.storedBytes).toFixed(2),
    ]),
  ]);
  const thousand = fanout.find((r) => r.members === 1_000);
  console.log(
    `1,000-member fan-out end to end: ${thousand?.totalMs ?? '?'} ms (target ≤ 1000 ms); body stored once: ${fanout.map((r) => r.bodyBytes).join(' / ')} bytes at ${FANOUT_SIZES.join(' / ')} members (ratios: fan-out ÷ one letter per member, same run)`,
  );
  printPush(push, printTable);
  console.log(
    `BENCH_JSON ${JSON.stringify({ machine, seconds: SECONDS, baseline, letters, anonymous, tokenCrypto, memory, targets, tor, telegram, collectiveLogMs, canonical, fanout, push })}`,
  );
}

await main();
