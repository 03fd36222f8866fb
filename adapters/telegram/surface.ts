/**
 * The Telegram surface as the kit sees it: plain text (no parse mode, so nothing is escaped),
 * commands typed as words, and the kit commands it offers in the order help lists them.
 */
import {
  COLLECTIVE_COMMANDS,
  FEED_COMMANDS,
  IDENTITY_COMMANDS,
  LETTER_COMMANDS,
  commandsTyped,
  plainText,
  say,
  splitText,
  typedOn,
  type CommandSpec,
  type Surface,
  type View,
} from '../../bridge/index.js';
import { FOOTER, GREETING, HELP, TELEGRAM_ONLY_COMMANDS } from './telegram-about.js';

/** Telegram's longest message. */
export const TELEGRAM_TEXT_LIMIT = 4096;

const KIT_COMMANDS = [
  ...IDENTITY_COMMANDS,
  ...LETTER_COMMANDS,
  ...FEED_COMMANDS,
  ...COLLECTIVE_COMMANDS,
];

/** A kit command by its kit name (buttons run some that are not typed here). */
export function kitCommand(name: string): CommandSpec {
  const spec = KIT_COMMANDS.find((s) => s.name === name);
  if (spec === undefined) throw new Error(`no kit command ${name}`);
  return spec;
}

/** The kit commands typed here, in the order of help and the command menu. */
const OFFERED = [
  'start',
  'register',
  'whoami',
  'verifyme',
  'send',
  'inbox',
  'requests',
  'post',
  'postfollowers',
  'feed',
  'follow',
  'unfollow',
  'following',
  'followers',
  'collectives',
  'create',
  'join',
  'say',
  'pending',
  'vouch',
  'members',
  'constitution',
  'propose-quorum',
  'propose-window',
  'propose-remove',
  'proposals',
  'vote',
  'leave',
  'help',
];

export const TELEGRAM: Surface = {
  style: plainText,
  syntax: 'words',
  channelLinks: false,
  commands: OFFERED.map(kitCommand),
  // Telegram command names allow no hyphen, and `create` alone says too little in its menu.
  rename: { create: 'create_collective' },
  textLimit: TELEGRAM_TEXT_LIMIT,
  about: { greeting: GREETING, help: HELP, footer: FOOTER },
};

/** Every command name typed here, kit and Telegram's own, once each, in menu order. */
export const TYPED_COMMANDS: readonly string[] = [
  ...new Set(TELEGRAM.commands.map((spec) => typedOn(TELEGRAM, spec))),
  ...TELEGRAM_ONLY_COMMANDS.map((c) => c.command),
];

/** The command menu (`setMyCommands`): a summary each, the keywords for commands typed alike. */
export function commandMenu(): { command: string; description: string }[] {
  const kit = [...new Set(TELEGRAM.commands.map((spec) => typedOn(TELEGRAM, spec)))].map(
    (typed) => {
      const specs = commandsTyped(TELEGRAM, typed);
      const [first] = specs;
      const description =
        specs.length === 1 || first === undefined
          ? (first?.summary ?? typed)
          : `Propose a change: ${specs.map((s) => s.keyword?.word ?? s.name).join(', ')}`;
      return { command: typed, description };
    },
  );
  return [...kit, ...TELEGRAM_ONLY_COMMANDS.map((c) => ({ ...c }))];
}

/** Cuts `text` into messages Telegram accepts, at line breaks where possible. */
export const splitForTelegram = (text: string, limit = TELEGRAM_TEXT_LIMIT): string[] =>
  splitText(text, limit);

/** A view's words here. */
export const viewText = (view: View): string => say(view, TELEGRAM);

/** A view's words here, in messages Telegram accepts. */
export const viewMessages = (view: View): string[] => splitForTelegram(viewText(view));
