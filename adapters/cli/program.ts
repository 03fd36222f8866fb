/** The `komrade` command line: commands, global options, and the one place errors are reported. */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  checkOperatorUrl,
  parseSocksAddress,
  type KomradeClient,
  type SocksAddress,
} from '../../client/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import { parseName, parseNewName } from '../../common/wire/index.js';
import { addAgentCommands } from './agent/index.js';
import { addBackupCommands } from './backup-commands.js';
import { addCollectiveCommands } from './collective-commands.js';
import { homePaths } from './environment.js';
import { hintFor, type HintContext } from './hints.js';
import { powProgress } from './pow-progress.js';
import {
  renderContacts,
  renderFeed,
  renderInbox,
  renderLetter,
  renderNames,
  renderPosted,
  renderProfile,
  renderRequests,
  renderWhoAmI,
} from './render.js';
import { readText } from './read-text.js';
import { addVerifyMeCommand } from './verify-me.js';
import { watchInbox } from './watch-inbox.js';
import { initHome, openSession, type ChatAdapter, type CliDeps, type Session } from './session.js';

/**
 * Exit codes: 0 success, 1 an error, 2 a usage error (bad arguments or options, no passphrase).
 * `komrade telegram` / `komrade discord` exit as their bot did (128 + n when a signal ended it).
 */
export const EXIT = Object.freeze({ ok: 0, error: 1, usage: 2 });

/** What the hints may name, filled in as a command runs. */
type Hints = { -readonly [K in keyof HintContext]: HintContext[K] };

/** Commands whose first argument is a komrade's name (for hints that name them). */
const NAMED_COMMANDS: ReadonlySet<string> = new Set([
  'register',
  'lookup',
  'send',
  'follow',
  'unfollow',
  'accept',
  'block',
  'unblock',
]);

/** The canonical name for a hint, or nothing when the input is not a name. */
const canonicalName = (input: string | undefined): string | undefined => {
  if (input === undefined) return undefined;
  const parsed = parseName(input);
  return parsed.ok ? parsed.value : undefined;
};

interface GlobalOptions {
  readonly home?: string;
  readonly json?: boolean;
  readonly torBinary?: string;
}

const DEFAULT_POST_DAYS = 7;
const DEFAULT_INBOX_LIMIT = 20;

/** The bots `komrade` starts, in the order `--help` lists them. */
const CHAT_ADAPTERS: readonly { adapter: ChatAdapter; platform: string }[] = [
  { adapter: 'telegram', platform: 'Telegram' },
  { adapter: 'discord', platform: 'Discord' },
];

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('Expected a whole number of at least 1.');
  }
  return n;
}

type PostTarget = 'feed' | 'followers' | 'both';

function postTarget(value: string): PostTarget {
  if (value === 'feed' || value === 'followers' || value === 'both') return value;
  throw new InvalidArgumentError('Expected feed, followers or both.');
}

function socksAddress(value: string): SocksAddress {
  try {
    return parseSocksAddress(value);
  } catch (error) {
    throw new InvalidArgumentError(isKomradeError(error) ? error.message : 'Expected HOST:PORT.');
  }
}

function transportText(
  transport: 'direct' | 'tor-socks' | 'own-tor',
  torSocks: string | undefined,
  home: string,
): string {
  switch (transport) {
    case 'direct':
      return 'connection: direct, because the Operator is on this machine (loopback: for development and tests only; a real Operator is an onion service reached through Tor)';
    case 'tor-socks':
      return `connection: through Tor, via the SOCKS port ${torSocks ?? '?'}`;
    case 'own-tor':
      return `connection: through Tor; komrade starts its own tor when needed (data in ${home}/tor)`;
  }
}

/**
 * Runs the CLI with `args` (without `node` and the script) and resolves to the exit code.
 * Nothing here reads `process`: main.ts passes in everything.
 */
export async function runCli(args: readonly string[], deps: CliDeps): Promise<number> {
  const hints: Hints = {};
  const exit: { code: number } = { code: EXIT.ok };
  const program = buildProgram(deps, hints, exit);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exit.code;
  } catch (error) {
    if (!deps.output.json && args.includes('--json')) deps.output.json = true;
    return report(error, deps, hints);
  }
}

function report(error: unknown, deps: CliDeps, hints: HintContext): number {
  const { output } = deps;
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    ) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const message = error.message.replace(/^error: /, '');
    output.error({ code: 'USAGE', message, hint: 'See `komrade --help`.' });
    return EXIT.usage;
  }
  if (isKomradeError(error)) {
    const hint = hintFor(error.code, hints);
    output.error({
      code: error.code,
      message: error.message,
      ...(hint === undefined ? {} : { hint }),
    });
    return error.code === 'USAGE' ? EXIT.usage : EXIT.error;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown failure';
  output.error({ code: 'INTERNAL', message: `Unexpected error (${message}).` });
  return EXIT.error;
}

function buildProgram(deps: CliDeps, hints: Hints, exit: { code: number }): Command {
  const { output } = deps;
  const program = new Command('komrade')
    .description(
      'Komrade: letters and a world feed that no one but you and your komrades can read.',
    )
    .option('--home <dir>', 'your komrade folder (default: $KOMRADE_HOME, else ~/.komrade)')
    .option('--json', 'print one JSON document on stdout (errors as JSON on stderr)')
    .option(
      '--tor-binary <path>',
      'the tor to launch for an onion Operator without --tor-socks (default: $KOMRADE_TOR_BINARY, else tor on PATH)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Environment:',
        '  KOMRADE_HOME        the komrade folder, when --home is not given',
        '  KOMRADE_PASSPHRASE  the keystore passphrase, for scripts (otherwise typed at a prompt)',
        '  KOMRADE_KDF         "interactive" makes init use a lighter key derivation: for tests only',
        "  KOMRADE_TOR_SOCKS   a running tor's SOCKS port (HOST:PORT on this machine), overriding init's",
        '  KOMRADE_TOR_BINARY  the tor to launch when no SOCKS port is set (like --tor-binary)',
        '  KOMRADE_TOR_EXTRA_TORRC  a file of extra torrc lines for the launched tor: for tests only',
        '',
        'Tor: an onion Operator is reached only through Tor: the SOCKS port from --tor-socks or',
        'KOMRADE_TOR_SOCKS, else a tor komrade starts for the command (data in <home>/tor). Each',
        'identity gets its own circuits. Only onion and loopback (development) Operators are allowed.',
        '',
        'Output: human text on stdout; with --json, one JSON document on stdout, and errors as',
        '{"error":{"code","message","hint"?}} on stderr. Progress always goes to stderr.',
        'Exit codes: 0 success, 1 error, 2 usage error.',
      ].join('\n'),
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        output.writeHelp(text);
      },
      writeErr: (text) => {
        output.writeHelpToStderr(text);
      },
      // Reported once, in report(), in the chosen format.
      outputError: () => undefined,
    })
    .showSuggestionAfterError();
  if (deps.version !== undefined) {
    program.version(deps.version, '-V, --version', 'print the version of komrade');
  }

  program.hook('preAction', (_root, action) => {
    output.json = action.optsWithGlobals<GlobalOptions>().json === true;
    noteNames(action, hints);
  });

  const globals = (command: Command) => command.optsWithGlobals<GlobalOptions>();
  const typing = (text: string) => {
    output.prompt(text);
  };

  /** Opens the home folder for one command and always closes it. */
  async function withSession<T>(
    command: Command,
    run: (session: Session) => Promise<T>,
  ): Promise<T> {
    const { home, torBinary } = globals(command);
    hints.home = homePaths(home, deps.environment).home;
    const session = await openSession(deps, home, torBinary === undefined ? {} : { torBinary });
    hints.operatorUrl = session.operatorUrl;
    if (session.torSocks !== undefined) hints.torSocks = session.torSocks;
    try {
      return await run(session);
    } finally {
      await session.close();
    }
  }

  program
    .command('init')
    .description('create your keystore and local store (once per identity)')
    .requiredOption(
      '--operator <url>',
      "the Operator's onion address, e.g. http://…onion (or http://127.0.0.1:PORT for development)",
    )
    .option(
      '--tor-socks <host:port>',
      "a running tor's SOCKS port, e.g. 127.0.0.1:9050 (default: komrade starts its own tor)",
      socksAddress,
    )
    .action(async (options: { operator: string; torSocks?: SocksAddress }, command: Command) => {
      const home = globals(command).home;
      hints.home = homePaths(home, deps.environment).home;
      hints.operatorUrl = options.operator;
      checkScheme(options.operator);
      const created = await initHome(deps, home, options.operator, options.torSocks);
      output.result(created, () =>
        [
          `Created your keystore and local store in ${created.home}.`,
          `  operator: ${created.operator}`,
          `  ${transportText(created.transport, created.torSocks, created.home)}`,
          'Keep your passphrase safe: nobody can recover it. Next: komrade register NAME',
        ].join('\n'),
      );
    });

  program
    .command('register')
    .description('register a name at the Operator (solves a small proof of work)')
    .argument('<name>', 'the name you want, e.g. alice')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        await checkNameIsFree(client, name);
        const profile = await client.register(name, powProgress(output, deps.now));
        const typed = name.startsWith('@') ? name.slice(1) : name;
        const folded = typed !== profile.name ? ' (names are lowercase)' : '';
        output.result(
          profile,
          () => `Registered as @${profile.name}${folded}.\n${renderProfile(profile)}`,
        );
      });
    });

  program
    .command('whoami')
    .description('show your name and public keys')
    .action(async (_options: unknown, command: Command) => {
      await withSession(command, async ({ client, operatorUrl }) => {
        const me = client.whoami();
        output.result({ ...me, operator: operatorUrl }, () => renderWhoAmI(me, operatorUrl));
        return Promise.resolve();
      });
    });

  program
    .command('lookup')
    .description("show a komrade's registered keys, checked against the pinned Operator key")
    .argument('<name>', 'e.g. @bob')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const profile = await client.lookup(name);
        output.result(profile, () => renderProfile(profile));
      });
    });

  program
    .command('send')
    .description(
      'send a letter (the text, or stdin when omitted or "-"; at a terminal, type it and end with Ctrl-D)',
    )
    .argument('<name>', 'the recipient, e.g. @bob')
    .argument('[text...]', 'the letter')
    .action(async (name: string, words: string[], _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const text = await readText(words, deps.input, typing);
        const sent = await client.send(name, text);
        output.result(sent, () => `Sent to @${sent.to}.`);
      });
    });

  program
    .command('inbox')
    .description('fetch, verify and store new letters, then show your inbox')
    .option('--limit <n>', 'show at most this many of the latest letters', positiveInteger)
    .option(
      '--watch',
      'keep running: show each new letter as soon as the Operator has it (Ctrl-C to stop)',
    )
    .action(async (options: { limit?: number; watch?: boolean }, command: Command) => {
      if (options.watch === true) {
        if (output.json) {
          throw new KomradeError(
            'USAGE',
            '--watch shows letters as they arrive, so it cannot print one JSON document (--json).',
          );
        }
        await withSession(command, async ({ client }) => {
          const stop = new AbortController();
          const unlisten = deps.onInterrupt?.(() => {
            stop.abort();
          });
          try {
            await watchInbox({
              client,
              output,
              signal: stop.signal,
              limit: options.limit ?? DEFAULT_INBOX_LIMIT,
              now: deps.now,
            });
          } finally {
            unlisten?.();
          }
        });
        return;
      }
      await withSession(command, async ({ client }) => {
        // Only `inbox` downloads letters, so what arrived during this check is new since the last.
        const since = deps.now();
        const checked = await client.checkInbox();
        const letters = client
          .inbox()
          .slice(-(options.limit ?? DEFAULT_INBOX_LIMIT))
          .map((letter) => ({ ...letter, new: letter.receivedAt >= since }));
        const requests = client.requests();
        const json = {
          checked,
          letters,
          requests: requests.map((r) => ({ from: r.from, letters: r.letters.length })),
        };
        output.result(json, () => renderInbox(checked, letters, requests, client.collectives()));
      });
    });

  const requests = program
    .command('requests')
    .description('letters from komrades you have not accepted yet')
    .action(async (_options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const held = client.requests();
        output.result({ requests: held }, () => renderRequests(held));
        return Promise.resolve();
      });
    });

  requests
    .command('accept')
    .description('accept a komrade: their letters move to your inbox')
    .argument('<name>', 'e.g. @alice')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const accepted = client.accept(name);
        const letters = client
          .inbox()
          .filter((l) => l.from === accepted.name)
          .slice(-accepted.moved);
        output.result({ ...accepted, letters }, () =>
          [
            `Accepted @${accepted.name}; ${accepted.moved} letter(s) moved to your inbox.`,
            ...letters.map((l) => `\n${renderLetter(l)}`),
          ].join('\n'),
        );
        return Promise.resolve();
      });
    });

  requests
    .command('block')
    .description('block a komrade: their held letters are deleted, later ones dropped')
    .argument('<name>', 'e.g. @mallory')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const blocked = client.block(name);
        output.result(
          blocked,
          () => `Blocked @${blocked.name}; ${blocked.deleted} held letter(s) deleted.`,
        );
        return Promise.resolve();
      });
    });

  program
    .command('unblock')
    .description('unblock a komrade: their later letters are held as requests again')
    .argument('<name>', 'e.g. @mallory')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const unblocked = client.unblock(name);
        output.result(unblocked, () =>
          unblocked.unblocked
            ? `Unblocked @${unblocked.name}; their next letters will wait in your requests.`
            : `@${unblocked.name} was not blocked.`,
        );
        return Promise.resolve();
      });
    });

  program
    .command('contacts')
    .description('komrades you wrote to or accepted, and those you blocked (local)')
    .action(async (_options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const contacts = client.contacts();
        output.result({ contacts }, () => renderContacts(contacts));
        return Promise.resolve();
      });
    });

  program
    .command('followers')
    .description('komrades who follow you: `post --to followers` reaches them (local)')
    .action(async (_options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const followers = client.followers();
        output.result({ followers }, () =>
          renderNames(followers, 'Nobody follows you yet.', 'follower'),
        );
        return Promise.resolve();
      });
    });

  program
    .command('following')
    .description('komrades you follow: their posts reach your inbox (local)')
    .action(async (_options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const following = client.following();
        output.result({ following }, () =>
          renderNames(following, 'You follow nobody yet: komrade follow @NAME.', 'komrade'),
        );
        return Promise.resolve();
      });
    });

  program
    .command('post')
    .description('post to the world feed @komrades (the text, or stdin when omitted or "-")')
    .argument('[text...]', 'the post')
    .option(
      '--days <n>',
      `how many days the post stays (default ${DEFAULT_POST_DAYS})`,
      positiveInteger,
    )
    .option(
      '--to <where>',
      'feed, followers (a sealed letter each) or both (default feed)',
      postTarget,
    )
    .action(
      async (words: string[], options: { days?: number; to?: PostTarget }, command: Command) => {
        await withSession(command, async ({ client }) => {
          const text = await readText(words, deps.input, typing);
          const to = options.to ?? 'feed';
          const feed =
            to === 'followers' ? null : await client.post(text, options.days ?? DEFAULT_POST_DAYS);
          // Each copy goes alone, at a random moment over up to 30 s (see fanOutDelays).
          const followers =
            to === 'feed'
              ? null
              : await client.postToFollowers(text, {
                  onProgress: (sent, total) => {
                    const line = `Sent ${sent} of ${total} to followers…`;
                    if (output.interactive) output.progressUpdate(line);
                    else if (sent === total) output.progress(line);
                  },
                });
          const lines = [
            ...(feed === null ? [] : [renderPosted(feed)]),
            ...(followers === null
              ? []
              : [
                  `Sent to ${followers.followers.length} follower(s) as sealed letters.`,
                  ...followers.failed.map((f) => `Not sent to @${f.name}: ${f.reason}`),
                ]),
          ];
          output.result(to === 'feed' ? feed : { feed, followers }, () => lines.join('\n'));
        });
      },
    );

  program
    .command('follow')
    .description('follow a komrade: a sealed letter tells them, and their posts reach your inbox')
    .argument('<name>', 'e.g. @alice')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const followed = await client.follow(name);
        output.result(followed, () => `You follow @${followed.name}.`);
      });
    });

  program
    .command('unfollow')
    .description('stop following a komrade (a sealed letter tells them)')
    .argument('<name>', 'e.g. @alice')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const unfollowed = await client.unfollow(name);
        output.result(unfollowed, () => `You no longer follow @${unfollowed.name}.`);
      });
    });

  program
    .command('feed')
    .description('read the world feed, newest first; every post is checked against its author')
    .option('--before <cursor>', 'continue from the cursor a previous page printed')
    .option('--limit <n>', 'posts per page', positiveInteger)
    .action(async (options: { before?: string; limit?: number }, command: Command) => {
      await withSession(command, async ({ client }) => {
        const feed = await client
          .feed({
            ...(options.before === undefined ? {} : { before: options.before }),
            ...(options.limit === undefined ? {} : { limit: options.limit }),
          })
          .catch((error: unknown) => {
            // The cursor is opaque: a refused one was mistyped or cut, not a fault of the feed.
            if (options.before !== undefined && isKomradeError(error, 'BAD_REQUEST')) {
              throw new KomradeError(
                'USAGE',
                'The Operator does not accept that --before cursor: copy it whole from the "Older posts: komrade feed --before …" line of the previous page, or leave --before out to start from the newest posts.',
                { cause: error },
              );
            }
            throw error;
          });
        output.result(feed, () => renderFeed(feed));
      });
    });

  // Each bot runs as its own process: its chat library and the queues live only in the adapter,
  // never in this CLI.
  for (const { adapter, platform } of CHAT_ADAPTERS) {
    program
      .command(adapter)
      .description(
        `run the ${platform} bot: a long-running process holding its users' identities (docs/${adapter}.md)`,
      )
      .requiredOption(
        '--config <file>',
        `the bot's YAML config (see config/${adapter}.example.yaml)`,
      )
      .action(async (options: { config: string }) => {
        if (deps.runAdapter === undefined) {
          throw new KomradeError('USAGE', 'This build of komrade cannot start adapters.');
        }
        exit.code = await deps.runAdapter(adapter, ['--config', options.config]);
      });
  }

  addVerifyMeCommand(program, { output, withSession, exit });
  addCollectiveCommands(program, { output, input: deps.input, now: deps.now, withSession });
  addBackupCommands(program, deps, hints);
  addAgentCommands(program, deps, hints);

  return program;
}

/** Remembers the komrade and collective a command names, so hints can name them too. */
function noteNames(action: Command, hints: Hints): void {
  const [first, second] = action.args;
  if (action.parent?.name() === 'collective') {
    // `create` names a collective that does not exist yet: an unknown name there is a founder.
    const collective = action.name() === 'create' ? undefined : canonicalName(first);
    if (collective !== undefined) hints.collective = collective;
    const candidate = action.name() === 'vouch' ? canonicalName(second) : undefined;
    if (candidate !== undefined) hints.name = candidate;
    return;
  }
  const name = NAMED_COMMANDS.has(action.name()) ? canonicalName(first) : undefined;
  if (name !== undefined) hints.name = name;
}

/**
 * An Operator address typed without `http://` (e.g. `127.0.0.1:8470`) gets the fix suggested.
 * @throws `USAGE` naming the URL to use
 */
function checkScheme(url: string): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return;
  const suggestion = `http://${url}`;
  try {
    checkOperatorUrl(suggestion);
  } catch {
    return; // Not an Operator address with a scheme either: init's own check explains the rule.
  }
  throw new KomradeError(
    'USAGE',
    `The Operator address needs its scheme: did you mean ${suggestion}?`,
  );
}

/**
 * Asks the Operator (a free lookup) whether `input` is taken before any proof of work is spent.
 * A name taken by this very identity (a registration whose answer was lost) goes on, so
 * `register` adopts it.
 * @throws `NAME_TAKEN` when someone else holds the name
 */
async function checkNameIsFree(client: KomradeClient, input: string): Promise<void> {
  const parsed = parseNewName(input);
  // A bad name, or an identity already registered: `register` itself says what is wrong.
  if (!parsed.ok || client.whoami().name !== null) return;
  let holder;
  try {
    holder = await client.lookup(parsed.value);
  } catch (error) {
    if (isKomradeError(error, 'NAME_UNKNOWN')) return;
    throw error;
  }
  const me = client.whoami();
  if (holder.signKey === me.signKey && holder.boxKey === me.boxKey) return;
  throw new KomradeError(
    'NAME_TAKEN',
    `@${parsed.value} is already registered at this Operator; no proof of work was done.`,
  );
}
