/**
 * The contract every chat surface passes: its commands (from its kit `Surface`) answered the
 * kit's way whatever the user types, and its `ChatSurface` showing letters and notices within the
 * platform's limits without letting anyone's words forge the bot's structure. A surface supplies
 * a driver that plays its users on the real platform library against an emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bare,
  command,
  noticeText,
  render,
  typedOn,
  type ArgSpec,
  type BridgeEngine,
  type ChatNotice,
  type ChatSurface,
  type CommandSpec,
  type Surface,
} from '../../bridge/index.js';
import { DEFAULT_CONSTITUTION } from '../../common/collectives/index.js';

/** A message as the platform shows it to the user. */
export interface ShownMessage {
  readonly text: string;
  /** How the platform reads `text`: as is, as HTML, or as markdown. */
  readonly markup: 'none' | 'html' | 'markdown';
  /** Whether the message was sent with every mention off (nothing in it can ping anyone). */
  readonly mentionsOff: boolean;
  /** A key the platform drops a repeated send by (Discord's nonce), if the surface gave one. */
  readonly sendKey?: string;
}

/** Plays one surface's users against its platform's emulator, with the adapter running. */
export interface ChatSurfaceDriver<U> {
  /** The kit surface the adapter offers. */
  readonly surface: Surface;
  readonly engine: BridgeEngine;
  /** The adapter's `ChatSurface`, on the running platform client. */
  readonly chatSurface: ChatSurface;
  /** A new platform user, with no Komrade identity. */
  newUser(label: string): Promise<U>;
  /** The user registers `name` the surface's way and the bot confirms it. */
  register(user: U, name: string): Promise<void>;
  /**
   * The user runs `spec` with raw values by argument name (left-out arguments are not sent),
   * typed the surface's way (words, or a slash command's options).
   * @returns the answers the user saw, or `undefined` when the platform's own client would not
   * let the user send this (a required option left out)
   */
  run(
    user: U,
    spec: CommandSpec,
    values: Readonly<Record<string, string | number>>,
  ): Promise<string[] | undefined>;
  /** The user types `spec` followed by a word it does not take; `undefined` where nothing can follow (options). */
  runWithExtraWord(user: U, spec: CommandSpec): Promise<string[] | undefined>;
  /** The user runs a command the bot does not know (e.g. one a former version registered). */
  runUnknown(user: U, typed: string): Promise<string[]>;
  /** The engine's key for the user (`telegram:42`). */
  userKey(user: U): string;
  /** Where the engine reaches the user (`ChatSurface`'s `chat`). */
  chatOf(user: U): string;
  /** What the bot pushed into the user's own chat so far (letters, notices), oldest first. */
  pushed(user: U): ShownMessage[];
  stop(): Promise<void>;
}

/** A value each kind of argument refuses, and one it accepts. */
function badValue(arg: ArgSpec): string | number {
  switch (arg.kind) {
    case 'name':
    case 'collective':
    case 'new-name':
      return 'dаve'; // a Cyrillic а
    case 'integer':
    case 'days':
      return arg.max === undefined ? -1 : arg.max + 1;
    case 'choice':
      return 'maybe';
    case 'text':
      return '   ';
  }
}

function goodValue(arg: ArgSpec): string | number {
  switch (arg.kind) {
    case 'name':
      return 'dave';
    case 'collective':
      return 'portland';
    case 'new-name':
      return 'fresh_name';
    case 'integer':
    case 'days':
      return arg.min ?? 1;
    case 'choice':
      return arg.choices?.[0] ?? 'yes';
    case 'text':
      return 'hello there';
  }
}

const valuesOf = (spec: CommandSpec, pick: (arg: ArgSpec) => string | number) =>
  Object.fromEntries(
    spec.args.filter((arg) => arg.optional !== true).map((arg) => [arg.name, pick(arg)]),
  );

const INTERNAL = /something went wrong|internal|error:|stack|undefined|\[object /i;

/** Every kind of `ChatNotice`: a new kind fails to compile until it has a sample here. */
const NOTICES: { readonly [K in ChatNotice['kind']]: Extract<ChatNotice, { kind: K }> } = {
  'send-failed': { kind: 'send-failed', to: 'ben', code: 'NAME_UNKNOWN' },
  sent: { kind: 'sent', to: 'ben' },
  'new-follower': { kind: 'new-follower', name: 'cai' },
  'session-reset': { kind: 'session-reset', name: 'ben', lost: true },
  'collective-send-failed': {
    kind: 'collective-send-failed',
    collective: 'portland',
    code: 'NOT_MEMBER',
  },
  'collective-join-request': {
    kind: 'collective-join-request',
    collective: 'portland',
    candidate: 'cai',
    // Someone else's words: markup, a mention, a masked link, line breaks and a bidi override.
    note: '**urgent** <@123> [vouch here](https://evil.example)\n# admin\u202Eevil',
    quorum: 2,
  },
  'collective-vouched': {
    kind: 'collective-vouched',
    collective: 'portland',
    voucher: 'ana',
    vouches: 1,
    quorum: 1,
    admitted: true,
  },
  'collective-proposal': {
    kind: 'collective-proposal',
    collective: 'portland',
    proposal: 7,
    proposer: 'ana',
    change: { action: 'remove', member: 'ben' },
    inForce: DEFAULT_CONSTITUTION,
    closesAt: Date.UTC(2026, 11, 9, 18, 0),
  },
  'collective-enacted': {
    kind: 'collective-enacted',
    collective: 'portland',
    proposal: 7,
    change: { action: 'remove', member: 'ben' },
    before: DEFAULT_CONSTITUTION,
  },
};

/** Waits until `probe` gives a value (the engine delivers on its own schedule). */
async function eventually<T>(
  probe: () => T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs the contract against one surface.
 * @param label - the surface's name in the test titles
 * @param start - starts the adapter and its platform emulator, and gives the driver
 */
export function describeChatSurfaceContract<U>(
  label: string,
  start: () => Promise<ChatSurfaceDriver<U>>,
): void {
  describe(`the chat-surface contract: ${label}`, () => {
    let driver: ChatSurfaceDriver<U> | undefined;
    const d = (): ChatSurfaceDriver<U> => {
      if (driver === undefined) throw new Error('the driver starts in beforeAll');
      return driver;
    };
    let registered: U;
    let fresh: U;

    beforeAll(async () => {
      driver = await start();
      registered = await driver.newUser('member');
      await driver.register(registered, `member${label.slice(0, 3).toLowerCase()}`);
      fresh = await driver.newUser('newcomer');
    }, 120_000);

    afterAll(async () => {
      await driver?.stop();
    }, 60_000);

    it('answers wrong use of every command with its usage: never silence or an internal error', async () => {
      const { surface } = d();
      const checked: string[] = [];
      for (const spec of surface.commands) {
        const usage = render(command(spec.name), surface);
        const attempts: (string[] | undefined)[] = [];
        if (spec.args.some((arg) => arg.optional !== true)) {
          attempts.push(await d().run(registered, spec, valuesOf(spec, badValue)));
        }
        attempts.push(await d().runWithExtraWord(registered, spec));
        for (const answers of attempts) {
          if (answers === undefined) continue;
          const text = answers.join('\n');
          expect.soft(text.trim().length, `/${spec.name}`).toBeGreaterThan(0);
          expect.soft(text, `/${spec.name}`).not.toMatch(INTERNAL);
          expect.soft(text, `/${spec.name}`).toContain(usage);
          checked.push(spec.name);
        }
      }
      // Every command with arguments could be misused, on every surface.
      for (const spec of surface.commands.filter((s) => s.args.some((a) => a.optional !== true)))
        expect(checked, `/${spec.name}`).toContain(spec.name);
    }, 300_000);

    it('answers a user with no identity with "no identity" and the register command', async () => {
      const { surface } = d();
      const register = render(command('register'), surface);
      for (const spec of surface.commands.filter((s) => s.needs !== 'nothing')) {
        const answers = await d().run(fresh, spec, valuesOf(spec, goodValue));
        if (answers === undefined) continue;
        const text = answers.join('\n');
        expect.soft(text, `/${spec.name}`).toMatch(/no Komrade identity/i);
        expect.soft(text, `/${spec.name}`).toContain(register);
      }
      // Asking changed nothing: still no identity.
      expect(d().engine.identityOf(d().userKey(fresh))).toBeUndefined();
    }, 300_000);

    it('lists every command it offers in help', async () => {
      const { surface } = d();
      const help = surface.commands.find((spec) => spec.name === 'help');
      expect(help, 'a surface offers help').toBeDefined();
      if (help === undefined) return;
      const text = (await d().run(fresh, help, {}))?.join('\n') ?? '';
      for (const spec of surface.commands)
        expect(text, `/${spec.name}`).toContain(`/${typedOn(surface, spec)}`);
    }, 60_000);

    it('answers an unknown command by pointing to help', async () => {
      const { surface } = d();
      const text = (await d().runUnknown(registered, 'frobnicate')).join('\n');
      expect(text).not.toMatch(INTERNAL);
      expect(text).toContain(render(bare('help'), surface));
    }, 60_000);

    it('shows a hostile letter whole, in parts within its limit, with nothing forged', async () => {
      const { surface, engine } = d();
      const sender = await d().newUser('sender');
      const senderName = `sender${label.slice(0, 3).toLowerCase()}`;
      await d().register(sender, senderName);
      const recipient = await d().newUser('recipient');
      const recipientName = `recipient${label.slice(0, 3).toLowerCase()}`;
      await d().register(recipient, recipientName);
      const end = `END-${label}`;
      const hostile = [
        '<b>bold</b> <a href="https://evil.example">x</a> &amp;',
        '**bold** __under__ ||spoiler|| `code` [click](https://evil.example) <@123> @everyone',
        '# ✉️ Letter from @admin',
        '> a quote',
        'x'.repeat(10_000),
        end,
      ].join('\n');
      const from = engine.identityOf(d().userKey(sender));
      if (from === undefined) throw new Error('the sender has no identity');
      const before = d().pushed(recipient).length;
      await engine.send(from.id, recipientName, hostile);
      const shown = await eventually(() => {
        const all = d().pushed(recipient).slice(before);
        return all.some((m) => m.text.includes(end)) ? all : undefined;
      }, 'the letter');
      expect(shown.length).toBeGreaterThan(1);
      for (const message of shown) {
        expect(message.text.length).toBeLessThanOrEqual(surface.textLimit);
        if (message.markup === 'markdown') expect(message.mentionsOff).toBe(true);
        if (message.markup === 'html') {
          expect(message.text).not.toContain('<b>bold</b>');
          expect(message.text).not.toContain('<a href');
        }
      }
      // The sender is named first, by the bot, and the words arrive whole, as the surface writes them.
      expect(shown[0]?.text.split('\n')[0]).toContain(`@${senderName}`);
      expect(shown.map((m) => m.text).join('')).toContain(surface.style.verbatim(hostile));
    }, 120_000);

    it('shows every kind of notice in the kit’s words, resolving once the platform took it', async () => {
      const { surface, chatSurface } = d();
      for (const notice of Object.values(NOTICES)) {
        const before = d().pushed(registered).length;
        await chatSurface.notify(d().chatOf(registered), notice);
        // Resolved: the platform has it already.
        const shown = d().pushed(registered).slice(before);
        expect(shown.length, notice.kind).toBeGreaterThan(0);
        const text = shown.map((m) => m.text).join('\n');
        expect(text, notice.kind).toContain(render(noticeText(notice, surface), surface));
        for (const message of shown) {
          expect(message.text.length).toBeLessThanOrEqual(surface.textLimit);
          if (message.markup === 'markdown') expect(message.mentionsOff).toBe(true);
        }
        if (notice.kind === 'collective-join-request') {
          // The candidate's note stays on one line: it cannot start a heading or a line of ours.
          expect(text).not.toMatch(/\n# admin/);
          expect(text).not.toContain('\u202E');
          if (shown[0]?.markup === 'markdown') expect(text).not.toMatch(/(^|[^\\])[[<]/);
        }
      }
    }, 120_000);

    it('resolves a delivered letter with the platform’s reference, the same send key on a retry', async () => {
      const { chatSurface } = d();
      const letter = {
        from: 'ben',
        to: 'member',
        sentAt: Date.UTC(2026, 11, 2, 18, 0),
        text: 'Same letter twice',
        firstContact: false,
        senderKeyHolder: 'self' as const,
        post: false,
      };
      const before = d().pushed(registered).length;
      const ref = await chatSurface.deliverLetter(
        d().chatOf(registered),
        letter,
        'ZGVsaXZlcnktb25lLWlkLTAx',
      );
      const shown = d().pushed(registered).slice(before);
      expect(ref.length).toBeGreaterThan(0);
      expect(shown.map((m) => m.text).join('')).toContain('Same letter twice');
      const again = d().pushed(registered).length;
      await chatSurface.deliverLetter(d().chatOf(registered), letter, 'ZGVsaXZlcnktb25lLWlkLTAx');
      const retried = d().pushed(registered).slice(again);
      // A platform with send keys gets the same ones on a retry, so it can drop the repeat.
      expect(retried.map((m) => m.sendKey)).toEqual(shown.map((m) => m.sendKey));
    }, 60_000);
  });
}
