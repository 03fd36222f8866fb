/**
 * A chat surface as the kit sees it: the commands it offers, how they are typed there, and the
 * markup its messages use. Rendering rich text for a surface lives here too.
 */
import { untrustedLine } from '../../../client/index.js';
import type { CommandSpec } from './command.js';
import { typedName } from './command.js';
import { writeCommand, type CommandSyntax } from './command-syntax.js';
import type { Rich } from './rich-text.js';

/** A markup: how each part of rich text is written. Every method returns finished markup. */
export interface TextStyle {
  /** Our own words. */
  text(value: string): string;
  /** A Komrade name, `@alice`. */
  name(value: string): string;
  /** Already rendered text, emphasized. */
  strong(rendered: string): string;
  /** A command as typed (`/vouch portland @dave`). */
  command(typed: string): string;
  /** Someone else's words inside our text: one bounded line, no markup, no mentions. */
  untrusted(value: string): string;
  /** A message's own words, as written. */
  verbatim(value: string): string;
}

/** What the kit needs to know of a surface to parse its commands and word its texts. */
export interface Surface {
  readonly style: TextStyle;
  readonly syntax: CommandSyntax;
  /** Channels can be linked to a collective (which then stands in for a left-out `collective`). */
  readonly channelLinks: boolean;
  /** The commands it offers, in the order its help lists them. */
  readonly commands: readonly CommandSpec[];
  /** How users type a command here where that differs from the kit's spelling. */
  readonly rename?: Readonly<Record<string, string>>;
  /** Its longest message, in characters. */
  readonly textLimit: number;
  /** What this surface is (who holds the keys, who sees what): atop help, and as its greeting. */
  readonly about: {
    readonly greeting: Rich;
    readonly help: Rich;
    /** After the command list (how replies work, what arrives by itself). */
    readonly footer?: Rich;
  };
}

/** The name users type for `spec` on `surface`. */
export const typedOn = (surface: Surface, spec: CommandSpec): string =>
  surface.rename?.[typedName(spec)] ?? typedName(spec);

/** Whether `surface` offers the kit command `name`. */
export const offers = (surface: Surface, name: string): boolean =>
  surface.commands.some((spec) => spec.name === name || typedName(spec) === name);

/** The commands `surface` offers that users type as `typed` (several for keyword commands). */
export const commandsTyped = (surface: Surface, typed: string): CommandSpec[] =>
  surface.commands.filter((spec) => typedOn(surface, spec) === typed.toLowerCase());

/** Renders rich text in the surface's markup. */
export function render(rich: Rich, surface: Surface): string {
  const { style } = surface;
  if (typeof rich === 'string') return style.text(rich);
  if (Array.isArray(rich))
    return (rich as readonly Rich[]).map((part) => render(part, surface)).join('');
  const part = rich as Exclude<Rich, string | readonly Rich[]>;
  switch (part.kind) {
    case 'name':
      return style.name(part.name);
    case 'strong':
      return style.strong(render(part.text, surface));
    case 'untrusted':
      return style.untrusted(part.text);
    case 'verbatim':
      return style.verbatim(part.text);
    case 'command': {
      const spec =
        surface.commands.find((s) => s.name === part.command) ??
        surface.commands.find((s) => typedName(s) === part.command);
      // A command this surface does not offer is still named, never invented.
      if (spec === undefined)
        return style.command(`/${surface.rename?.[part.command] ?? part.command}`);
      const typed = typedOn(surface, spec);
      if (part.bare === true) return style.command(`/${typed}`);
      return style.command(
        writeCommand(spec, surface.syntax, part.args, {
          channelLinks: surface.channelLinks,
          typed,
        }),
      );
    }
  }
}

/** Plain text: no markup at all (Telegram without a parse mode, a terminal). */
export const plainText: TextStyle = {
  text: (value) => value,
  name: (value) => `@${value}`,
  strong: (rendered) => rendered,
  command: (typed) => typed,
  untrusted: (value) => untrustedLine(value),
  verbatim: (value) => value,
};

const escapeHtml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Telegram's HTML parse mode. */
export const telegramHtml: TextStyle = {
  text: escapeHtml,
  name: (value) => `@${escapeHtml(value)}`,
  strong: (rendered) => `<b>${rendered}</b>`,
  command: (typed) => `<code>${escapeHtml(typed)}</code>`,
  untrusted: (value) => escapeHtml(untrustedLine(value)),
  verbatim: escapeHtml,
};

/** Discord markdown's inline marks, a backslash included. */
const escapeMarks = (value: string) => value.replace(/[\\*_~`|]/g, (c) => `\\${c}`);
/** Marks that count only at the start of a line: headings, quotes, lists. */
const escapeLineStarts = (value: string) =>
  value.replace(/^(\s*)([#>-]|\d+\.)/gm, (_m, space: string, mark: string) => `${space}\\${mark}`);

/** Discord markdown (messages are sent with mentions off: `allowed_mentions: { parse: [] }`). */
export const discordMarkdown: TextStyle = {
  // Our words can carry an Operator's error message: no masked link or <@id> may come of it.
  text: (value) =>
    escapeLineStarts(escapeMarks(value))
      .replace(/\](?=\()/g, ']\\')
      .replace(/</g, '\\<'),
  name: (value) => `@${escapeMarks(value)}`,
  strong: (rendered) => `**${rendered}**`,
  command: (typed) => `\`${typed.replace(/`/g, "'")}\``,
  // Masked links and angle brackets too: nobody else's words may look like our links. An
  // escaped `[` already undoes a masked link, so `](` stay as typed.
  untrusted: (value) =>
    escapeLineStarts(escapeMarks(untrustedLine(value))).replace(/[[<]/g, (c) => `\\${c}`),
  verbatim: (value) => value,
};
