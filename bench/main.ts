/**
 * `npm run bench`: the Operator's throughput, latency and memory, each against a baseline measured
 * in the same run. Prints a table and one JSON line (`BENCH_JSON {...}`). Targets are reported,
 * never asserted. `BENCH_SECONDS` sets the length of each measurement (default 4); `BENCH_ONLY`
 * runs only the named parts (comma-separated, e.g. `letters,memory`; see {@link PARTS});
 * `BENCH_PROFILE=1` prints where the Operator's CPU time went while letters were measured.
 */
import { cpus, totalmem } from 'node:os';
import { initCrypto } from '../common/crypto/index.js';
import { benchAnonymousSend } from './anonymous-send.js';
import { benchTokenCrypto } from './token-crypto.js';
import { benchBaseline, benchLetters, benchMemory } from './letters.js';
import {
  printAnonymous,
  printCanonical,
  printFanout,
  printLetters,
  printTable,
  printTelegram,
  printTor,
} from './print.js';
import { benchCanonical } from './canonical.js';
import { FANOUT_SIZES, benchCollectiveFanout } from './collective-fanout.js';
import { benchCollectiveLog } from './collectives.js';
import { benchPush, printPush } from './push.js';
import { benchRatchet } from './ratchet.js';
import { benchRegistry, printRegistry } from './registry.js';
import { benchScaling, printScaling } from './scaling.js';
import { benchTelegram } from './telegram.js';
import { benchTor } from './tor.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '4');

/** The parts of the benchmark, in the order they run. */
const PARTS = [
  'letters',
  'anonymous',
  'tokens',
  'memory',
  'tor',
  'telegram',
  'collectives',
  'canonical',
  'fanout',
  'push',
  'ratchet',
  'registry',
  'scaling',
] as const;
type Part = (typeof PARTS)[number];

/** The parts `BENCH_ONLY` names, or all of them; an unknown name stops the run before it starts. */
function chosenParts(): ReadonlySet<Part> {
  const only = process.env['BENCH_ONLY'];
  if (only === undefined || only.trim() === '') return new Set(PARTS);
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(PARTS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY: unknown part(s) ${unknown.join(', ')}; known: ${PARTS.join(', ')}`,
    );
  }
  return new Set(names as Part[]);
}

/** Runs `measure` when its part was chosen, with a progress line on stderr. */
async function part<T>(
  parts: ReadonlySet<Part>,
  name: Part,
  what: string,
  measure: () => T | Promise<T>,
): Promise<T | undefined> {
  if (!parts.has(name)) return undefined;
  console.error(`${what} …`);
  return measure();
}

async function main(): Promise<void> {
  const parts = chosenParts();
  await initCrypto();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.error(`Komrade benchmark on ${machine}; ${SECONDS} s per measurement`);

  const baseline = await part(parts, 'letters', 'baseline: bare node:http', () =>
    benchBaseline(SECONDS),
  );
  const letters = await part(parts, 'letters', 'letters through the Operator', () =>
    benchLetters(SECONDS),
  );
  const anonymous = await part(
    parts,
    'anonymous',
    'anonymous sends and tokens: Operator CPU per operation',
    () => benchAnonymousSend(SECONDS),
  );
  const tokenCrypto = await part(
    parts,
    'tokens',
    'token cryptography against one Ed25519 verification',
    () => benchTokenCrypto(SECONDS * 1000),
  );
  const memory = await part(parts, 'memory', 'memory with 100,000 letters for 10,000 names', () =>
    benchMemory(),
  );
  const tor = await part(parts, 'tor', 'over Tor: a private Tor network on loopback', () =>
    benchTor(),
  );
  const telegram = await part(
    parts,
    'telegram',
    'Telegram: adapter + Operator against the Bot API emulator',
    () => benchTelegram(),
  );
  const collectiveLogMs = await part(
    parts,
    'collectives',
    'collectives: verifying a 10,000-event log',
    () => benchCollectiveLog(),
  );
  const canonical = await part(
    parts,
    'canonical',
    'canonical CBOR: tiny items and one big item, against a plain cborg decode',
    () => benchCanonical(),
  );
  const fanout = await part(
    parts,
    'fanout',
    `collectives: one message fanned out to ${FANOUT_SIZES.join(', ')} members`,
    () => benchCollectiveFanout(),
  );
  const push = await part(
    parts,
    'push',
    'push: CLI → Telegram over Tor, idle CPU with 1,000 and 10,000 identities',
    () => benchPush(),
  );

  const ratchet = await part(
    parts,
    'ratchet',
    'forward secrecy: a 1 KiB letter through the pairwise session, against no ratchet',
    () => benchRatchet(SECONDS * 1000),
  );

  const registry = await part(
    parts,
    'registry',
    'registry log: proofs at 1M leaves, registrations with the log against without',
    () => benchRegistry(SECONDS * 1000),
  );

  const scaling = await part(
    parts,
    'scaling',
    'several Operators: one, two and three on one PostgreSQL, beside one on SQLite',
    () => benchScaling(SECONDS),
  );

  const targets: Record<string, number> = {};
  if (baseline !== undefined && letters !== undefined) {
    Object.assign(targets, printLetters(baseline, letters));
  }
  if (memory !== undefined) {
    targets['peakRssMb'] = memory.loaded.peakMb;
    targets['peakRssTargetMb'] = 150;
    console.log(
      `Operator RSS: ${memory.idle.rssMb} MB idle, ${memory.loaded.rssMb} MB (peak ${memory.loaded.peakMb} MB) with ${memory.letters} letters queued for ${memory.names} names (target: peak ≤ 150 MB)`,
    );
  }
  if (anonymous !== undefined) printAnonymous(anonymous);
  if (tokenCrypto !== undefined) {
    const verifyUs = tokenCrypto.ed25519VerifyUs;
    console.log(
      `token check ${tokenCrypto.tokenCheckUs.toFixed(1)} µs = ${(tokenCrypto.tokenCheckUs / verifyUs).toFixed(2)} × one Ed25519 verification (${verifyUs.toFixed(1)} µs, native libsodium; ristretto255 runs in WebAssembly); uncached ${(tokenCrypto.tokenCheckUncachedUs / verifyUs).toFixed(2)} ×; issuing ${(tokenCrypto.tokenIssueUs / verifyUs).toFixed(2)} × per token (target: check ≤ 1 ×)`,
    );
    const bare = baseline?.[64]?.serverUsPerRequest;
    if (bare !== undefined) {
      // The floor a letter cannot go below while ristretto255 runs in WebAssembly.
      const tokenUs = tokenCrypto.tokenIssueUs + tokenCrypto.tokenCheckUs;
      targets['tokenCryptoPerLetterUs'] = Number(tokenUs.toFixed(1));
      console.log(
        `token cryptography per letter (one token issued + one checked): ${tokenUs.toFixed(0)} µs = ${(tokenUs / bare).toFixed(1)} bare requests of server CPU (${bare} µs at concurrency 64)`,
      );
    }
  }
  if (tor !== undefined) printTor(tor);
  if (telegram !== undefined) printTelegram(telegram);
  if (collectiveLogMs !== undefined) {
    console.log(`\nCollective log of 10,000 events verified in ${Math.round(collectiveLogMs)} ms`);
  }
  if (canonical !== undefined) printCanonical(canonical);
  if (fanout !== undefined) {
    const thousand = printFanout(fanout, FANOUT_SIZES);
    if (thousand !== undefined) {
      targets['fanout1000Ms'] = thousand;
      targets['fanout1000TargetMs'] = 1_000;
    }
  }
  if (push !== undefined) printPush(push, printTable);
  if (ratchet !== undefined) {
    const { plainUs, continuingUs, firstUs } = ratchet;
    console.log(
      `\nA 1 KiB letter, sender and recipient together (SQLite commits included): ${continuingUs.toFixed(0)} µs in a session = ${(continuingUs / plainUs).toFixed(1)} × the same letter without a ratchet (${plainUs.toFixed(0)} µs); a session's first letter ${firstUs.toFixed(0)} µs = ${(firstUs / plainUs).toFixed(1)} ×; ratchet message ${ratchet.continuingMessageBytes} B in a session, ${ratchet.firstMessageBytes} B first`,
    );
  }
  if (registry !== undefined) printRegistry(registry);
  if (scaling !== undefined) printScaling(scaling);
  console.log(
    `BENCH_JSON ${JSON.stringify({ machine, seconds: SECONDS, parts: [...parts], baseline, letters, anonymous, tokenCrypto, memory, targets, tor, telegram, collectiveLogMs, canonical, fanout, push, ratchet, registry, scaling })}`,
  );
}

await main();
