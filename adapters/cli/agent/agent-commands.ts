/** `komrade unlock` and `komrade lock`: an agent that spares later commands the passphrase. */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { FileKeystore } from '../../../client/index.js';
import { KomradeError, isKomradeError } from '../../../common/errors/index.js';
import { homePaths } from '../environment.js';
import { withPassphrase } from '../passphrase.js';
import type { CliDeps } from '../session.js';
import { agentAnswers, agentKey, loadAgentKey, stopAgent } from './agent-client.js';
import { agentDirState, agentPaths, socketPathFits } from './agent-paths.js';

/** What hints may name; program.ts fills in the rest. */
interface HomeHint {
  home?: string;
}

/** `--for` when not given: 15 minutes. */
export const DEFAULT_UNLOCK_SECONDS = 15 * 60;

/** The longest unlock: a day. */
const MAX_UNLOCK_SECONDS = 24 * 60 * 60;

/** How often, and how many times, `unlock` checks that the agent it started answers. */
const START_POLL_MS = 50;
// Up to 30 s: a loaded machine may take seconds to start Node and libsodium.
const START_POLLS = 600;

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };

/** Parses `--for`: a whole number with `s`, `m` or `h`, e.g. `15m`. */
export function unlockSeconds(value: string): number {
  const match = /^(\d{1,6})([smh])$/.exec(value.trim());
  const unit = match?.[2] === undefined ? undefined : UNITS[match[2]];
  const seconds = match?.[1] === undefined || unit === undefined ? 0 : Number(match[1]) * unit;
  if (seconds < 1 || seconds > MAX_UNLOCK_SECONDS) {
    throw new InvalidArgumentError('Expected a duration such as 30s, 15m or 2h (at most 24h).');
  }
  return seconds;
}

/** `15 min`, `2 h 30 min`, `45 s`. */
function showDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [h > 0 ? `${h} h` : '', m > 0 ? `${m} min` : '', s > 0 ? `${s} s` : ''];
  return parts.filter((part) => part !== '').join(' ');
}

/**
 * Registers `unlock` and `lock` on `program`.
 * @param hints - where the home folder is noted for error hints
 */
export function addAgentCommands(program: Command, deps: CliDeps, hints: HomeHint): void {
  const { output, environment } = deps;
  const homeOf = (command: Command): string => {
    const { home } = homePaths(command.optsWithGlobals<{ home?: string }>().home, environment);
    hints.home = home;
    return home;
  };

  program
    .command('unlock')
    .description(
      'type the passphrase once: commands of this home skip it until the time is up or komrade lock',
    )
    .option('--for <duration>', 'how long, e.g. 30s, 15m or 2h (default: 15m)', unlockSeconds)
    .addHelpText(
      'after',
      [
        '',
        'A small agent process keeps the key derived from your passphrase in memory only, on a',
        'socket in <home>/agent/ that only your user can open. The time counts from this unlock',
        '(using komrade does not extend it); run unlock again to restart it. Any program running',
        'as your user can ask the agent for the key while it runs: see docs/security.md.',
      ].join('\n'),
    )
    .action(async (options: { for?: number }, command: Command) => {
      const home = homeOf(command);
      const seconds = options.for ?? DEFAULT_UNLOCK_SECONDS;
      const paths = homePaths(home, environment);
      const keystore = new FileKeystore(paths.keystore);
      if (!keystore.exists()) {
        throw new KomradeError('KEYSTORE_MISSING', `No keystore in ${paths.home}.`);
      }
      const { dir, socket } = agentPaths(home);
      if (!socketPathFits(socket)) {
        throw new KomradeError(
          'AGENT_UNAVAILABLE',
          `The path of ${home} is too long for the agent's socket; use a shorter --home.`,
        );
      }
      if (agentDirState(dir) === 'unsafe') throw unsafeDir(dir);

      // An agent that already holds a key that opens this keystore just gets its time restarted.
      let key = await heldKey(home, keystore);
      const reused = key !== undefined;
      try {
        key ??= await withPassphrase(
          { fromEnv: environment.passphrase, input: deps.input, output },
          (passphrase) =>
            keystore.deriveUnlockKey(passphrase, {
              onDeriving: () => {
                output.progress('Deriving key from passphrase…');
              },
            }),
        );
        if (!(await agentAnswers(home))) await startAgent(home);
        if (!(await loadAgentKey(home, key, seconds))) {
          throw new KomradeError('AGENT_UNAVAILABLE', 'The agent did not take the key.');
        }
      } finally {
        key?.fill(0);
      }
      const until = new Date(deps.now() + seconds * 1000).toISOString();
      output.result({ home, unlocked: true, reused, seconds, until }, () =>
        [
          `Unlocked ${home} for ${showDuration(seconds)} (until ${until.slice(11, 16)} UTC):`,
          'commands for this home skip the passphrase. komrade lock ends it sooner.',
        ].join('\n'),
      );
    });

  program
    .command('lock')
    .description(
      'stop the agent of komrade unlock: it wipes the key, and the passphrase is needed again',
    )
    .action(async (_options: unknown, command: Command) => {
      const home = homeOf(command);
      const { dir } = agentPaths(home);
      const outcome = await stopAgent(home);
      switch (outcome) {
        case 'unsafe':
          throw unsafeDir(dir);
        case 'silent':
          throw new KomradeError(
            'AGENT_UNAVAILABLE',
            `The agent of ${home} did not answer; it could not be stopped.`,
          );
        case 'reply':
        case 'absent':
          break;
      }
      const stopped = outcome === 'reply';
      output.result({ home, locked: true, stopped }, () =>
        stopped
          ? `Locked ${home}: the agent wiped the key; commands ask for the passphrase again.`
          : `Nothing to lock: no agent was running for ${home}.`,
      );
    });
}

function unsafeDir(dir: string): KomradeError {
  return new KomradeError(
    'AGENT_UNAVAILABLE',
    `${dir} is not a private folder of yours (mode 0700); remove it and run komrade unlock again.`,
  );
}

/** The key a running agent holds, if it still opens `keystore` (it may predate a new passphrase). */
async function heldKey(home: string, keystore: FileKeystore): Promise<Uint8Array | undefined> {
  const key = await agentKey(home);
  if (key === undefined) return undefined;
  try {
    keystore.openWithUnlockKey(key).storageKey.fill(0);
    return key;
  } catch (error) {
    key.fill(0);
    if (isKomradeError(error, 'WRONG_PASSPHRASE')) return undefined;
    throw error;
  }
}

/**
 * Starts a detached agent on `socket` and waits until it answers. It gets no environment (so no
 * `KOMRADE_PASSPHRASE`) and no terminal.
 * @throws `AGENT_UNAVAILABLE` when it does not come up
 */
async function startAgent(home: string): Promise<void> {
  const { dir, socket } = agentPaths(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (agentDirState(dir) !== 'private') throw unsafeDir(dir);
  // Left by an agent that died: nobody answered on it.
  rmSync(socket, { force: true });
  const entry = fileURLToPath(new URL('./agent-main.js', import.meta.url));
  const child = spawn(process.execPath, [entry, socket], {
    detached: true,
    stdio: 'ignore',
    env: {},
    cwd: dir,
  });
  const started = { exited: false };
  child.once('exit', () => {
    started.exited = true;
  });
  child.once('error', () => {
    started.exited = true;
  });
  child.unref();
  for (let poll = 0; poll < START_POLLS && !started.exited; poll++) {
    if (await agentAnswers(home)) return;
    await new Promise((resolve) => setTimeout(resolve, START_POLL_MS));
  }
  throw new KomradeError('AGENT_UNAVAILABLE', 'The agent did not start.');
}
