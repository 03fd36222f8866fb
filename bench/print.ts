/** The benchmark's tables: each part's figures beside the baseline measured in the same run. */
import type { AnonymousSendFigures } from './anonymous-send.js';
import type { benchCanonical } from './canonical.js';
import type { benchCollectiveFanout } from './collective-fanout.js';
import { BATCH, CONCURRENCY, type BaselineRate, type LetterFigures } from './letters.js';
import type { benchTelegram } from './telegram.js';
import type { benchTor } from './tor.js';

/** Prints rows as aligned columns; the first row is the header. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  for (const row of rows) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
  }
}

/** Issue 12's letter targets, as ratios to the bare request of the same run. */
export const LETTER_TARGETS = { unbatched: 0.3, batched: 0.7, p50C1Ms: 3 } as const;

/**
 * Letters against bare requests: throughput, latency and the Operator's CPU per letter, and
 * (with `BENCH_PROFILE=1`) the functions that took its time.
 * @returns the figures the targets are judged by
 */
export function printLetters(
  baseline: Readonly<Record<number, BaselineRate>>,
  letters: LetterFigures,
): Record<string, number> {
  const rows: string[][] = [
    [
      'measure',
      'concurrency',
      'per second',
      'p50 ms',
      'p99 ms',
      'ratio to baseline',
      'server CPU µs each',
      'CPU ratio',
    ],
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
      `${b.serverUsPerRequest}`,
      '1.00',
    ]);
  }
  for (const [key, r] of Object.entries(letters.rates)) {
    const [mode = '', conc = ''] = key.split('_c');
    const base = baseline[Number(conc)];
    rows.push([
      `letters, ${mode}`,
      conc,
      `${r.perSecond}`,
      `${r.p50Ms}`,
      `${r.p99Ms}`,
      (r.perSecond / (base?.perSecond ?? Number.NaN)).toFixed(3),
      `${r.operatorUsPerLetter}`,
      (r.operatorUsPerLetter / (base?.serverUsPerRequest ?? Number.NaN)).toFixed(1),
    ]);
  }
  printTable(rows);

  const best = (pick: (c: number) => number | undefined) =>
    Math.max(...CONCURRENCY.map((c) => pick(c) ?? 0));
  const bestBaseline = best((c) => baseline[c]?.perSecond);
  const ratio = (key: string) =>
    Number((best((c) => letters.rates[`${key}_c${c}`]?.perSecond) / bestBaseline).toFixed(3));
  const targets = {
    unbatchedRatio: ratio('unbatched'),
    unbatchedTarget: LETTER_TARGETS.unbatched,
    batchedRatio: ratio(`batch${BATCH}`),
    batchedTarget: LETTER_TARGETS.batched,
    unbatchedP50C1Ms: letters.rates['unbatched_c1']?.p50Ms ?? Number.NaN,
    unbatchedP50C1TargetMs: LETTER_TARGETS.p50C1Ms,
  };
  console.log(
    `\nbest letters/s ÷ best bare requests/s (a letter: its token refilled 100 at a time, one anonymous send, one fetch that also deletes the previous letters): unbatched ${targets.unbatchedRatio} (target ≥ ${LETTER_TARGETS.unbatched}), batches of ${BATCH} ${targets.batchedRatio} (target ≥ ${LETTER_TARGETS.batched}); one unbatched letter at concurrency 1: p50 ${targets.unbatchedP50C1Ms} ms (target ≤ ${LETTER_TARGETS.p50C1Ms} ms)`,
  );
  if (letters.profile.length > 0) {
    console.log(
      "\nwhere the Operator's main thread spent its busy time while letters were measured (self time, idle left out):",
    );
    printTable([
      ['function', 'where', 'ms', '% of busy'],
      ...letters.profile.map((e) => [e.fn, e.where, `${e.selfMs}`, `${e.percent}`]),
    ]);
  }
  return targets;
}

/** The Operator's CPU per anonymous send, signed request and issued token. */
export function printAnonymous(anonymous: AnonymousSendFigures): void {
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
}

/** Requests through the onion against the same requests on loopback. */
export function printTor(tor: Awaited<ReturnType<typeof benchTor>>): void {
  const rows: string[][] = [
    ['over Tor (p50 / p99 ms)', 'through the onion', 'on loopback', 'target met'],
  ];
  for (const kind of ['floor', 'send', 'fetch', 'ack'] as const) {
    const met = kind === 'floor' ? '' : tor.withinTarget[kind] ? 'yes' : 'NO';
    rows.push([
      kind,
      `${tor.overTor[kind].p50Ms} / ${tor.overTor[kind].p99Ms}`,
      `${tor.loopback[kind].p50Ms} / ${tor.loopback[kind].p99Ms}`,
      met,
    ]);
  }
  console.log('');
  printTable(rows);
  console.log(
    `Operator start → onion reachable: ${tor.startToReachableMs} ms; circuits built during ${tor.samples * 4} requests: ${tor.circuitsBuiltDuringRequests} (target: p50 over Tor ≤ (floor + loopback) × 1.1, no circuit per request)`,
  );
}

/** Telegram to Telegram through the bot, with and without the platform's limits. */
export function printTelegram(telegram: Awaited<ReturnType<typeof benchTelegram>>): void {
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
}

/** Canonical CBOR decoding against a plain cborg decode. */
export function printCanonical(canonical: ReturnType<typeof benchCanonical>): void {
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
}

/**
 * A collective message fanned out, against one letter per member.
 * @returns the 1,000-member fan-out's end-to-end milliseconds, when measured
 */
export function printFanout(
  fanout: Awaited<ReturnType<typeof benchCollectiveFanout>>,
  sizes: readonly number[],
): number | undefined {
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
    `1,000-member fan-out end to end: ${thousand?.totalMs ?? '?'} ms (target ≤ 1,000 ms with forward secrecy; ≤ 250 ms before it); body stored once: ${fanout.map((r) => r.bodyBytes).join(' / ')} bytes at ${sizes.join(' / ')} members (ratios: fan-out ÷ one letter per member, same run)`,
  );
  return thousand?.totalMs;
}
