/**
 * The observed scenario: komrades on the command line, each acting on their own (as people do,
 * at the same time as others) — writing letters, following, unfollowing, posting to followers and
 * checking their inbox — with seeded choices so a run can be replayed.
 */
import { ChaosRandom } from '../chaos-random.js';
import type { CliRun } from '../komrade-cli.js';

/** Runs `komrade --home <home> ...args`. */
export type RunKomrade = (home: string, args: readonly string[]) => Promise<CliRun>;

export type ActionKind = 'send' | 'follow' | 'unfollow' | 'post' | 'inbox';

/** One command a komrade ran. */
export interface ScenarioAction {
  readonly who: string;
  readonly kind: ActionKind;
  readonly to?: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface ScenarioOptions {
  /** name → home folder (already `init`ed and registered). */
  readonly homes: ReadonlyMap<string, string>;
  readonly run: RunKomrade;
  readonly seed: number;
  /** Commands each komrade runs. */
  readonly actionsPerKomrade: number;
  /** Pause before each command, picked in [min, max] ms. */
  readonly thinkMs: readonly [number, number];
}

const WORDS = (
  'assembly tenants union library flyers sunday noon meeting rent strike bakery shift ' +
  'childcare ride kitchen garden march banner repair bikes clinic teach letters'
).split(' ');

function text(random: ChaosRandom): string {
  const words = random.int(2, 90);
  return Array.from({ length: words }, () => random.pick(WORDS)).join(' ');
}

const ok = (run: CliRun, who: string, args: readonly string[]): CliRun => {
  if (run.code !== 0) {
    throw new Error(
      `komrade ${args.join(' ')} (as @${who}) failed with ${String(run.code)}:\n${run.stderr}`,
    );
  }
  return run;
};

/**
 * `init` (through `socks`) and `register` for each komrade, a few at a time.
 * @returns name → home
 */
export async function setUpKomrades(options: {
  readonly names: readonly string[];
  readonly homeOf: (name: string) => string;
  readonly operatorUrl: string;
  readonly socks: string;
  readonly run: RunKomrade;
  readonly parallel?: number;
}): Promise<Map<string, string>> {
  const homes = new Map(options.names.map((name) => [name, options.homeOf(name)]));
  const queue = [...options.names];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const home = options.homeOf(name);
      const init = ['init', '--operator', options.operatorUrl, '--tor-socks', options.socks];
      ok(await options.run(home, init), name, init);
      ok(await options.run(home, ['register', name]), name, ['register', name]);
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 4 }, worker));
  return homes;
}

/**
 * Every komrade acts at once, each on its own seeded choices: first a follow, then a mix of
 * letters (35%), follows (20%), unfollows (8%), posts to followers (15%) and inbox checks.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioAction[]> {
  const names = [...options.homes.keys()];
  const actions: ScenarioAction[] = [];
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await Promise.all(
    names.map(async (who, index) => {
      const home = options.homes.get(who) ?? '';
      const random = new ChaosRandom(options.seed + index * 7919);
      const others = names.filter((n) => n !== who);
      const following = new Set<string>();
      for (let i = 0; i < options.actionsPerKomrade; i++) {
        await sleep(random.int(options.thinkMs[0], options.thinkMs[1]));
        const roll = i === 0 ? 0.4 : random.next();
        let kind: ActionKind;
        let to: string | undefined;
        const notFollowed = others.filter((n) => !following.has(n));
        if (roll < 0.35) {
          kind = 'send';
          to = random.pick(others);
        } else if (roll < 0.55 && notFollowed.length > 0) {
          kind = 'follow';
          to = random.pick(notFollowed);
        } else if (roll < 0.63 && following.size > 0) {
          kind = 'unfollow';
          to = random.pick([...following]);
        } else if (roll < 0.78) {
          kind = 'post';
        } else {
          kind = 'inbox';
        }
        const args =
          kind === 'send'
            ? ['send', `@${to ?? ''}`, text(random)]
            : kind === 'follow' || kind === 'unfollow'
              ? [kind, `@${to ?? ''}`]
              : kind === 'post'
                ? ['post', text(random), '--to', 'followers']
                : ['inbox'];
        const startedAt = Date.now();
        ok(await options.run(home, args), who, args);
        if (kind === 'follow' && to !== undefined) following.add(to);
        if (kind === 'unfollow' && to !== undefined) following.delete(to);
        actions.push({
          who,
          kind,
          ...(to === undefined ? {} : { to }),
          startedAt,
          endedAt: Date.now(),
        });
      }
      // Last, everyone reads their inbox (followers learned, letters fetched).
      ok(await options.run(home, ['inbox']), who, ['inbox']);
    }),
  );
  return actions.sort((a, b) => a.startedAt - b.startedAt);
}
