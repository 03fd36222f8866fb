/**
 * One chaos run: letters flow both ways between Telegram and CLI users while seeded random faults
 * hit the bot, the Operator and Redis — SIGKILL (sometimes two at once; the bot often within
 * 300 ms of taking a `/send`), each restarted on the same data after a short delay, and SIGSTOP of
 * the Operator or the bot for a few seconds. The last fault is a Redis restart (back empty), then
 * letters keep flowing for a few seconds; then every process is brought back up and the run waits,
 * bounded, for every letter. The ledger then judges each letter.
 */
import type { Direction } from './chaos-ledger.js';
import type { ChaosVerdict } from './chaos-ledger.js';
import { ChaosRandom } from './chaos-random.js';
import { formatT } from './chaos-timeline.js';
import type { ChaosWorld } from './chaos-world.js';
import { type Target } from './chaos-world.js';

/** How long and how hard. */
export interface ChaosOptions {
  readonly seed: number;
  /** Letters and faults, the tail included. */
  readonly chaosMs: number;
  /** After the last fault (a Redis restart), letters keep flowing this long. @defaultValue 5000 */
  readonly tailMs?: number;
  /** The bound on the wait for every letter once everything runs again. */
  readonly drainMs: number;
  /** Bot SIGKILLs right after a `/send`, at least. @defaultValue 3 */
  readonly minKillsAfterSend?: number;
  /** Printed as the run goes (the seed first). */
  readonly log: (line: string) => void;
}

/** What the run found. */
export interface ChaosReport {
  readonly verdict: ChaosVerdict;
  /** The summary: seed, faults, the per-letter table and the stories of bad letters. */
  readonly text: string;
}

type Fault =
  | { readonly kind: 'kill-after-send' }
  | { readonly kind: 'kill'; readonly targets: readonly Target[] }
  | { readonly kind: 'pause'; readonly target: 'operator' | 'bot' };

const describe = (fault: Fault): string =>
  fault.kind === 'kill-after-send'
    ? 'SIGKILL bot after /send'
    : fault.kind === 'kill'
      ? `SIGKILL ${fault.targets.join('+')}`
      : `SIGSTOP ${fault.target}`;

/**
 * How soon after Telegram took a letter a bot SIGKILL may show it again without failing the test.
 * The bot writes "delivered" once Telegram's answer is back (docs/telegram.md); the window runs
 * from the emulator's answer through the bot reading it to that write, and on a loaded machine it
 * was seen open for 250 ms. Each such letter's gap is printed.
 */
const WINDOW_MS = 1_000;

const sleep = (ms: number) =>
  new Promise<void>((r) => {
    setTimeout(r, ms);
  });

const PAIRS = [
  ['bot', 'operator'],
  ['bot', 'redis'],
  ['operator', 'redis'],
] as const;

/**
 * The first faults: a bot SIGKILL right after a `/send` every other fault (so even a short run
 * meets the re-delivered update), between the other kinds, each once in random order; then
 * random ones.
 */
function faultPlan(random: ChaosRandom, minKillsAfterSend: number): () => Fault {
  const others: Fault[] = random.shuffle([
    { kind: 'kill', targets: ['bot'] },
    { kind: 'kill', targets: ['operator'] },
    { kind: 'kill', targets: ['redis'] },
    { kind: 'kill', targets: random.pick(PAIRS) },
    { kind: 'pause', target: 'operator' },
    { kind: 'pause', target: 'bot' },
  ]);
  const first: Fault[] = [];
  for (let i = 0; i < minKillsAfterSend || others.length > 0; i++) {
    if (i < minKillsAfterSend) first.push({ kind: 'kill-after-send' });
    const other = others.shift();
    if (other !== undefined) first.push(other);
  }
  return () => {
    const planned = first.shift();
    if (planned !== undefined) return planned;
    const roll = random.next();
    if (roll < 0.25) return { kind: 'kill-after-send' };
    if (roll < 0.6)
      return { kind: 'kill', targets: [random.pick(['bot', 'operator', 'redis'] as const)] };
    if (roll < 0.75) return { kind: 'kill', targets: random.pick(PAIRS) };
    return { kind: 'pause', target: random.chance(0.6) ? 'operator' : 'bot' };
  };
}

async function inflict(world: ChaosWorld, fault: Fault, random: ChaosRandom): Promise<void> {
  const downMs = random.int(200, 1_500);
  switch (fault.kind) {
    case 'kill-after-send': {
      const killed = await world.killBotAfterSend(random.int(0, 300));
      if (!killed) return;
      await sleep(downMs);
      await world.process('bot').start();
      return;
    }
    case 'kill': {
      await Promise.all(fault.targets.map((t) => world.process(t).kill()));
      await sleep(downMs);
      await Promise.all(fault.targets.map((t) => world.process(t).start()));
      return;
    }
    case 'pause': {
      const p = world.process(fault.target);
      p.pause();
      await sleep(random.int(1_000, fault.target === 'operator' ? 4_000 : 3_000));
      p.resume();
      return;
    }
  }
}

/** Letters in random directions every 200–600 ms until `stop()`. */
async function traffic(world: ChaosWorld, random: ChaosRandom, stop: () => boolean): Promise<void> {
  while (!stop()) {
    const direction: Direction = random.chance(0.5) ? 'telegram→cli' : 'cli→telegram';
    world.send(direction);
    await sleep(random.int(200, 600));
  }
}

/**
 * Waits until every letter is accounted for (shown, or its Telegram sender was told it failed),
 * nothing is in flight, and nothing changed for 3 s; at most `boundMs`.
 * @returns ms until every letter was shown (undefined if never), and whether it settled
 */
async function drain(
  world: ChaosWorld,
  boundMs: number,
): Promise<{ allShownMs: number | undefined; settled: boolean }> {
  const started = Date.now();
  let lastChange = Date.now();
  let last = '';
  let allShownMs: number | undefined;
  while (Date.now() - started < boundMs) {
    world.observe();
    const unshown = world.ledger.unshown();
    const told = world.told();
    const byTelegramSender = new Map<string, number>();
    for (const l of unshown) {
      if (l.direction === 'telegram→cli')
        byTelegramSender.set(l.from, (byTelegramSender.get(l.from) ?? 0) + 1);
    }
    const accounted =
      unshown.every((l) => l.direction === 'telegram→cli' || l.refusal !== undefined) &&
      [...byTelegramSender].every(([from, n]) => n <= (told.get(from) ?? 0));
    if (unshown.length === 0 && allShownMs === undefined) allShownMs = Date.now() - started;
    const snapshot = JSON.stringify([
      [...world.ledger.letters.values()].map((l) => l.shownAt.length),
      world.emulator.allBotMessages().length,
    ]);
    if (snapshot !== last) {
      last = snapshot;
      lastChange = Date.now();
    }
    const quiet =
      world.sendsInFlight === 0 &&
      world.emulator.pendingUpdates === 0 &&
      Date.now() - lastChange >= 3_000;
    if (accounted && quiet) return { allShownMs, settled: true };
    await sleep(250);
  }
  return { allShownMs, settled: false };
}

/** Prints a line of the run's story to the test output. */
export function chaosLog(line: string): void {
  console.log(line);
}

/** Runs the chaos in a started world and judges every letter. */
export async function runChaos(world: ChaosWorld, options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const faultsRandom = new ChaosRandom(options.seed);
  const trafficRandom = new ChaosRandom(options.seed ^ 0x5eed);
  const tailMs = options.tailMs ?? 5_000;
  const timeline = world.timeline;

  // Warm-up: each side writes to each other user once, so both sides accept each other and later
  // letters are shown as letters, not held as first contacts.
  for (const tg of world.telegramUsers) {
    for (const cli of world.cliUsers) {
      tg.send(world.ledger.add('telegram→cli', tg.name, cli.name));
    }
  }
  await waitUntil(
    () => world.ledger.unshown().length === 0,
    60_000,
    'the Telegram warm-up letters',
  );
  for (const cli of world.cliUsers) {
    for (const tg of world.telegramUsers) {
      void cli.send(world.ledger.add('cli→telegram', cli.name, tg.name), () => timeline.now());
    }
  }
  await waitUntil(() => world.ledger.unshown().length === 0, 60_000, 'the CLI warm-up letters');
  timeline.note('warm-up done: chaos starts');

  const chaosStart = Date.now();
  let trafficOn = true;
  const flowing = traffic(world, trafficRandom, () => !trafficOn);
  const next = faultPlan(faultsRandom, options.minKillsAfterSend ?? 3);
  const faults: string[] = [];
  while (Date.now() - chaosStart < options.chaosMs - tailMs) {
    await sleep(faultsRandom.int(1_000, 3_000));
    await world.ensureUp();
    const fault = next();
    faults.push(describe(fault));
    timeline.note(`fault ${faults.length}: ${describe(fault)}`);
    await inflict(world, fault, faultsRandom);
  }
  // Last, Redis comes back empty with nothing else restarted: mail must still be fetched.
  await world.ensureUp();
  faults.push('SIGKILL redis (last)');
  timeline.note(`fault ${faults.length}: SIGKILL redis (last; nothing else restarts after it)`);
  await inflict(world, { kind: 'kill', targets: ['redis'] }, faultsRandom);
  await sleep(tailMs);
  trafficOn = false;
  await flowing;
  const lettersStopAt = timeline.now();
  timeline.note('letters stop; every process up again; draining');
  await world.ensureUp();
  const drained = await drain(world, options.drainMs);
  world.freeze();

  // Letters still missing: one more clean bot restart tells the stuck from the lost.
  const recovered = new Set<string>();
  const missing = world.ledger.unshown().filter((l) => l.refusal === undefined);
  if (missing.length > 0) {
    timeline.note(`${missing.length} letters missing after the drain: one more clean bot restart`);
    await world.process('bot').restart();
    await waitUntil(
      () => {
        const copies = world.copies();
        for (const l of missing) if ((copies.get(l.tag) ?? []).length > 0) recovered.add(l.tag);
        return recovered.size === missing.length ? true : undefined;
      },
      30_000,
      'missing letters after a restart',
    ).catch(() => undefined);
  }

  const answers = world.telegramUsers.map((u) => ({ name: u.name, ...u.answers() }));
  const letters = [...world.ledger.letters.values()];
  const extraQueued = answers.reduce((sum, a) => {
    const sends = letters.filter((l) => l.direction === 'telegram→cli' && l.from === a.name).length;
    return sum + Math.max(0, a.queued + a.other.length - sends);
  }, 0);
  const toldTexts = countTexts(answers.flatMap((a) => a.other));
  const unexpected = [...world.processes.values()]
    .filter((p) => p.unexpectedExits > 0)
    .map((p) => `${p.name} ×${p.unexpectedExits}`);
  const extra = [
    `faults (${faults.length}): ${countTexts(faults).join(', ')}`,
    `exits nobody asked for: ${unexpected.length === 0 ? 'none' : unexpected.join(', ')}`,
    `/send updates handed to the bot more than once: ${letters.filter((l) => l.handedOut.length > 1).length}`,
    `"on its way" and failure answers beyond one per /send: ${extraQueued}`,
    `failure answers to /send: ${toldTexts.length === 0 ? 'none' : toldTexts.join('; ')}`,
    `CLI sends retried: ${letters.filter((l) => l.tries > 1).length}; CLI inbox checks failed: ${world.cliUsers.reduce((s, u) => s + u.inboxFailures, 0)}`,
    `drain: ${drained.allShownMs === undefined ? 'not every letter shown' : `every letter shown ${formatT(drained.allShownMs)}`} after the last letter (${formatT(lettersStopAt)}); ${drained.settled ? 'settled' : `not settled within ${options.drainMs} ms`}`,
  ];
  const botKills = world.process('bot').kills;
  const verdict = world.ledger.verdict({
    told: world.told(),
    recovered,
    extra,
    // Shown twice: Telegram took the first copy, the bot was SIGKILLed within WINDOW_MS, and the
    // second copy came after that kill.
    inWindow: (letter) => {
      const [first, second] = letter.shownAt;
      if (letter.direction !== 'cli→telegram' || letter.shownAt.length !== 2) return undefined;
      if (first === undefined || second === undefined) return undefined;
      const kill = botKills.find((k) => k >= first && k - first <= WINDOW_MS && k < second);
      return kill === undefined ? undefined : kill - first;
    },
  });
  const text = [
    `chaos seed ${options.seed} (replay: KOMRADE_CHAOS_SEED=${options.seed}), ${options.chaosMs} ms of chaos`,
    verdict.table,
    ...verdict.stories,
    'timeline:',
    ...timeline.around(0, Number.POSITIVE_INFINITY).map((line) => `  ${line}`),
  ].join('\n');
  log(text);
  return { verdict, text };
}

function countTexts(texts: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([t, n]) => (n === 1 ? t : `${t} ×${n}`));
}

async function waitUntil(
  probe: () => boolean | undefined,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (probe() !== true) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
