/**
 * Forward secrecy (issue 13) through the real surfaces, over the private Tor network: a komrade
 * on the command line (carl), one on Telegram (tina) and one on Discord (dana), the Operator an
 * onion service that both bots and the CLI reach through tor.
 *
 * - Letters go both ways between all three: first letters start sessions, later ones continue
 *   them. Discord has no /send, so dana answers with a collective message, whose content key
 *   travels to each member through her pairwise session with them.
 * - Carl restores a backup taken earlier into a fresh home and writes to tina: she sees his letter
 *   and the "session was reset" notice, and her answer reaches the restored carl.
 * - The compromise view on a bot: the Operator's data folder is copied while a letter to dana
 *   waits; once the bot delivered it, the attacker takes the running bot's data folder and master
 *   key. Dana's current state (her keys and her ratchet store, opened with the master key), and
 *   every earlier state left in the store's WAL, fail to decrypt the recorded letter; the next
 *   letter (after the theft) opens, so the attack itself works.
 *
 * About 70 s here (tor network and bots ~20 s, registrations ~6 s, letters ~26 s).
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteBridgeStore, deriveBridgeKeys } from '../../bridge/index.js';
import { SqliteLocalStore } from '../../client/index.js';
import { randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { openRatchetLetter, toBase64url, type RatchetLetter } from '../../common/wire/index.js';
import { SqliteStore } from '../../operator/index.js';
import { attackerDecrypt } from '../support/attacker-libsignal.js';
import { startBotsOverTor, type BotsOverTor } from '../support/bots-over-tor.js';
import { registerOnDiscord, slash } from '../support/discord-bridge.js';
import type { EmulatedUser as DiscordUser, SlashValue } from '../support/discord-emulator.js';
import { assertCliBuilt, runKomrade, type CliRun } from '../support/komrade-cli.js';
import { register, telegramUser } from '../support/telegram-bridge.js';
import type { EmulatedMessage } from '../support/telegram-emulator.js';
import { reportTimings } from '../support/tor-network.js';
import { walSnapshots } from '../support/wal-snapshots.js';

const BACKUP_PASSPHRASE = 'carl backs up before the laptop is lost';
/** One command's bound: a first onion connection on a loaded machine can take a while. */
const COMMAND_MS = 100_000;
/** How long a letter may take from one surface to another through tor. */
const LETTER_MS = 45_000;

const tina = telegramUser('Tina');
let dana: DiscordUser;
let world: BotsOverTor;
const dir = mkdtempSync(join(tmpdir(), 'komrade-forward-secrecy-e2e-'));
/** Set once started, for afterAll to stop whatever did start. */
let running: BotsOverTor | undefined;
const carlHome = join(dir, 'carl');
const restoredHome = join(dir, 'carl-restored');
const timings: Record<string, number> = {};
// What the compromise tests share: the recorded letter and what the attacker took.
let secret: string;
let recorded: Uint8Array;
let stolenDir: string;
let stolenPath: string;
let keys: IdentityKeys;
let storageKey: Uint8Array;
let walStates: string[] = [];
let keptByBot = false;

/** The outer frame of a letter to dana, opened with her stolen long-term box key. */
function outerOf(sealed: Uint8Array): RatchetLetter {
  const outer = openRatchetLetter(sealed, keys);
  if (!outer.ok) throw outer.error;
  return outer.value;
}
const started = Date.now();

/** A letter text no other bytes contain by chance. */
const canary = (label: string) => `${label} ${toBase64url(randomBytes(9))}`;

async function carl(args: readonly string[], home = carlHome, env = {}): Promise<string> {
  const run: CliRun = await runKomrade(args, { home, env, timeoutMs: COMMAND_MS });
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  return run.stdout;
}

interface Inbox {
  readonly letters: readonly { readonly from: string; readonly text: string }[];
}
/** Fetches through tor until a letter with `text` is in the inbox of `home`. */
async function carlReceives(text: string, home = carlHome): Promise<string> {
  const deadline = Date.now() + LETTER_MS;
  for (;;) {
    const out = await carl(['inbox', '--json'], home);
    const inbox = JSON.parse(out) as Inbox;
    if (inbox.letters.some((l) => l.text === text)) return out;
    if (Date.now() > deadline) throw new Error(`no letter "${text}" for carl: ${out}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A bot message to tina showing `text`. */
const toTina = (text: string, timeoutMs = LETTER_MS): Promise<EmulatedMessage> =>
  world.telegram.waitForBotMessage(tina.id, (m) => m.text.includes(text), timeoutMs);

/** A DM from the Discord bot to dana containing `text`. */
const toDana = (text: string, timeoutMs = LETTER_MS) =>
  world.discord.waitForDm(dana.id, (m) => m.content.includes(text), timeoutMs);

/** Tina writes with `/send` and waits for the bot to say it is on its way. */
async function tinaSends(to: string, text: string): Promise<void> {
  const said = (m: EmulatedMessage) => m.text.includes(`on its way to @${to}`);
  const before = world.telegram.botMessages(tina.id).filter(said).length;
  world.telegram.userSends(tina, `/send @${to} ${text}`);
  await world.telegram.waitFor(
    () => (world.telegram.botMessages(tina.id).filter(said).length > before ? true : undefined),
    LETTER_MS,
    `tina's letter to @${to} on its way`,
  );
}

/** Dana runs a slash command in #lobby. */
const ask = (command: string, options: Record<string, SlashValue> = {}) =>
  slash(world.discord, world.lobby.id, dana, command, options);

/** Fetches through tor until carl reads `text` in `collective`. */
async function carlReads(collective: string, text: string): Promise<void> {
  const deadline = Date.now() + LETTER_MS;
  for (;;) {
    const out = await carl(['collective', 'read', `@${collective}`, '--json']);
    const read = JSON.parse(out) as { messages: { from: string; text: string }[] };
    if (read.messages.some((m) => m.text === text)) return;
    if (Date.now() > deadline) throw new Error(`carl never read "${text}": ${out}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Copies the Operator's data folder (every file, -wal included): a seized disk. */
function seizeOperator(label: string): string {
  const seized = join(dir, label);
  cpSync(world.published.operator.dataDir, seized, { recursive: true });
  return seized;
}

/** The letters waiting for `name` in a seized copy of the Operator's data folder. */
async function waitingIn(seized: string, name: string): Promise<Uint8Array[]> {
  const store = new SqliteStore(join(seized, 'operator.db'));
  try {
    return (await store.fetch(name, 1_000, Date.now())).letters.map((l) => l.sealed);
  } finally {
    await store.close();
  }
}

/**
 * Seizes the Operator's folder until a letter other than `known` ones waits for `name` in it
 * (an acknowledgement rides on the next fetch, so a delivered letter may still be there).
 */
async function seizeWhileWaiting(
  name: string,
  label: string,
  known: readonly Uint8Array[] = [],
): Promise<Uint8Array> {
  const deadline = Date.now() + LETTER_MS;
  const isKnown = (sealed: Uint8Array) => known.some((k) => Buffer.from(k).equals(sealed));
  for (let i = 0; ; i++) {
    const seized = seizeOperator(`${label}-${i}`);
    const sealed = (await waitingIn(seized, name)).find((s) => !isKnown(s));
    if (sealed !== undefined) return sealed;
    if (Date.now() > deadline) throw new Error(`no letter waited for @${name}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Seizes the Operator's folder until `sealed` no longer waits for `name` in it. */
async function seizeUntilGone(name: string, sealed: Uint8Array, label: string): Promise<void> {
  const deadline = Date.now() + LETTER_MS;
  for (let i = 0; ; i++) {
    const waiting = await waitingIn(seizeOperator(`${label}-${i}`), name);
    if (!waiting.some((s) => Buffer.from(s).equals(sealed))) return;
    if (Date.now() > deadline) throw new Error(`the letter to @${name} was never acknowledged`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  assertCliBuilt();
  world = running = await startBotsOverTor('Organizers');
  timings.setupMs = Date.now() - started;
  dana = world.discord.addMember(world.lobby.guildId, { username: 'dana' });
  const socks = `${world.socks.host}:${String(world.socks.port)}`;
  await Promise.all([
    register(world.telegram, tina, 'tina'),
    registerOnDiscord(world.discord, world.lobby.id, dana, 'dana'),
    (async () => {
      await carl(['init', '--operator', world.onionUrl, '--tor-socks', socks]);
      await carl(['register', 'carl']);
    })(),
  ]);
  timings.registerMs = Date.now() - started - timings.setupMs;
}, 240_000);

afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
  timings.totalMs = Date.now() - started;
  reportTimings('forward-secrecy', {
    ...timings,
    walStates: walStates.length,
    keptByBot: Number(keptByBot),
  });
}, 60_000);

describe('forward secrecy through the CLI, Telegram and Discord over Tor', () => {
  it('carl, tina and dana exchange letters both ways (first letters start sessions)', async () => {
    const t0 = Date.now();
    // carl -> tina: a first contact; tina accepts and answers by replying.
    const c1 = canary('carl to tina, first');
    await carl(['send', '@tina', c1]);
    const first = await toTina(c1);
    expect(first.text).toMatch(/First letter from @carl/);
    world.telegram.userClicks(tina, first.message_id, 'acc:carl');
    await world.telegram.waitForBotMessage(tina.id, /Accepted @carl/, LETTER_MS);
    const t1 = canary('tina to carl');
    world.telegram.userSends(tina, t1, { replyTo: first.message_id });
    await carlReceives(t1);

    // The backup carl restores later: taken now, with the sessions begun.
    await carl(['backup', join(dir, 'carl.kbackup')], carlHome, {
      KOMRADE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE,
    });

    // Later letters continue the sessions (the ratchet moves on past the backup).
    const c2 = canary('carl to tina, again');
    await carl(['send', '@tina', c2]);
    expect((await toTina(c2)).text).toMatch(/Letter from @carl/);
    const t2 = canary('tina to carl, again');
    await tinaSends('carl', t2);
    await carlReceives(t2);

    // tina and carl -> dana (Discord has no /send: its users read letters there, in a DM).
    const t3 = canary('tina to dana');
    await tinaSends('dana', t3);
    expect((await toDana(t3)).content).toMatch(/@tina/);
    const c3 = canary('carl to dana');
    await carl(['send', '@dana', c3]);
    expect((await toDana(c3)).content).toMatch(/@carl/);

    // dana -> tina and carl: a collective message, whose content key goes to each member through
    // dana's pairwise session with them (the answer that completes those sessions).
    expect((await ask('create', { collective: 'fsq' })).content).toMatch(/Created @fsq/);
    await carl(['collective', 'join', '@fsq']);
    expect((await ask('vouch', { candidate: 'carl', collective: 'fsq' })).content).toMatch(
      /@carl is now a member of @fsq/,
    );
    world.telegram.userSends(tina, '/join fsq');
    await world.telegram.waitForBotMessage(tina.id, /Asked to join @fsq/, LETTER_MS);
    expect((await ask('vouch', { candidate: 'tina', collective: 'fsq' })).content).toMatch(
      /@tina is now a member of @fsq/,
    );
    const d1 = canary('dana to fsq');
    expect((await ask('say', { collective: 'fsq', text: d1 })).content).toMatch(
      /Sealed for 2 members of @fsq/,
    );
    expect((await toTina(d1)).text).toContain('@dana');
    await carlReads('fsq', d1);

    // And on: the sessions with dana continue both ways.
    const t4 = canary('tina to dana, again');
    await tinaSends('dana', t4);
    await toDana(t4);
    const c4 = canary('carl to fsq');
    await carl(['collective', 'send', '@fsq', c4]);
    await Promise.all([toDana(c4), toTina(c4)]);
    timings.exchangeMs = Date.now() - t0;
  }, 300_000);

  it('a restored carl writes to tina: she sees the letter and the reset notice, and he her answer', async () => {
    const t0 = Date.now();
    const restored = JSON.parse(
      await carl(['restore', join(dir, 'carl.kbackup'), '--json'], restoredHome, {
        KOMRADE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE,
      }),
    ) as { operator: string };
    expect(restored.operator).toBe(world.onionUrl);

    const after = canary('carl to tina, after the restore');
    await carl(['send', '@tina', after], restoredHome);
    const letter = await toTina(after);
    // A known sender: straight to her, not a first contact.
    expect(letter.text).toMatch(/Letter from @carl/);
    expect(letter.text).not.toMatch(/First letter/);
    const notice = await toTina("@carl's session was reset", LETTER_MS);
    expect(notice.text).toContain('they restored a backup or lost it');
    // Told once.
    expect(
      world.telegram.botMessages(tina.id).filter((m) => m.text.includes('session was reset')),
    ).toHaveLength(1);

    const answer = canary('tina answers the restored carl');
    world.telegram.userSends(tina, answer, { replyTo: letter.message_id });
    const inbox = await carlReceives(answer, restoredHome);
    // Her answer opened in the new session: nothing was lost on the way.
    expect(inbox).not.toContain('"lost":true');
    timings.restoreMs = Date.now() - t0;
  }, 240_000);

  it('compromise: a letter recorded at the Operator stays secret from the bot’s stolen state', async () => {
    const t0 = Date.now();
    // The Discord bot is down while tina writes to dana: her letter waits at the Operator, and
    // the attacker copies the Operator's data folder then.
    await world.stopDiscordBot();
    secret = canary('tina to dana, recorded');
    await tinaSends('dana', secret);
    recorded = await seizeWhileWaiting('dana', 'seized-operator');

    // The bot comes back and delivers it.
    const bot = await world.restartDiscordBot();
    await toDana(secret);
    await bot.drained();
    // Delivered means acknowledged: the Operator deleted it (the ack rides on the bot's next
    // fetch), and only then does the bot let go of the opened copy and the state before it.
    await seizeUntilGone('dana', recorded, 'seized-acked');

    // Later the attacker takes the running bot's data folder (every file, -wal included) and its
    // master key: dana's keys, her ratchet state and her letter store, as the bot holds them now.
    stolenDir = join(dir, 'stolen-discord-data');
    cpSync(bot.dataDir, stolenDir, { recursive: true });
    // Stopped now, so the next letter to dana waits at the Operator for the control below.
    await world.stopDiscordBot();
    const vault = new SqliteBridgeStore(
      join(stolenDir, 'bridge.db'),
      deriveBridgeKeys(bot.masterKey),
    );
    const id = vault.identityNamed('dana');
    const held = id === undefined ? undefined : vault.identity(id);
    vault.close();
    if (id === undefined || held === undefined) throw new Error('dana is not in the stolen vault');
    keys = held.keys;
    storageKey = held.storageKey;
    stolenPath = join(stolenDir, 'identities', `${id}.db`);
    // Every earlier state still in the store's WAL, cut before anything opens the copy.
    walStates = walSnapshots(stolenPath, dir, 'stolen-dana-then');
    const stolen = new SqliteLocalStore(stolenPath, { storageKey });
    try {
      // The outer seal opens with her long-term keys (sender and type are not forward-secret);
      // dana answered tina (in @fsq) before, so the letter continues their session.
      const outer = outerOf(recorded);
      expect(outer.from).toBe('tina');
      expect(outer.type).toBe('message');
      const attempt = await attackerDecrypt(stolen, keys, 'dana', 'tina', outer.type, outer.msg);
      expect(attempt).toMatchObject({ opened: false });

      // The control: a letter sent after the theft opens with the stolen state.
      const later = canary('tina to dana, after the theft');
      await tinaSends('dana', later);
      const next = await seizeWhileWaiting('dana', 'seized-later', [recorded]);
      const nextOuter = outerOf(next);
      const opened = await attackerDecrypt(
        stolen,
        keys,
        'dana',
        'tina',
        nextOuter.type,
        nextOuter.msg,
      );
      expect(opened.opened).toBe(true);
      if (opened.opened) expect(Buffer.from(opened.plaintext).includes(later)).toBe(true);

      // Not forward secrecy's to give: whether the bot still holds the letter it delivered in
      // dana's letter store (under a storage key the master key opens), reported, not judged.
      keptByBot = [...stolen.letters('inbox'), ...stolen.letters('request')].some(
        (l) => l.letter.body === secret,
      );
    } finally {
      stolen.close();
    }
    timings.compromiseMs = Date.now() - t0;
  }, 240_000);

  it('compromise: no earlier state left in the stolen WAL opens it, and no plaintext is on disk', async () => {
    const opened: number[] = [];
    for (const [index, path] of walStates.entries()) {
      const then = new SqliteLocalStore(path, { storageKey });
      try {
        const outer = outerOf(recorded);
        const attempt = await attackerDecrypt(then, keys, 'dana', 'tina', outer.type, outer.msg);
        if (attempt.opened) opened.push(index);
      } finally {
        then.close();
      }
    }
    expect(opened, `${walStates.length} states in the WAL`).toEqual([]);
    for (const file of readdirSync(stolenDir, { recursive: true, encoding: 'utf8' })) {
      const path = join(stolenDir, file);
      if (!statSync(path).isFile()) continue;
      expect(readFileSync(path).includes(Buffer.from(secret)), file).toBe(false);
    }
  });
});
