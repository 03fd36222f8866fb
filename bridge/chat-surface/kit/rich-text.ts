/**
 * Rich text: what the kit's catalogue says, with just enough structure for each surface to render
 * it in its own markup (plain text, Telegram HTML, Discord markdown) and to write a command the
 * way that surface types it.
 */

/** A command as a user would type it here, with example arguments by argument name. */
export interface CommandMention {
  readonly kind: 'command';
  /** The command's kit name (`vouch`), not a surface's spelling of it. */
  readonly command: string;
  /** Argument values to show, by the argument's name; left out ones are shown as placeholders. */
  readonly args?: Readonly<Record<string, string>>;
  /** Show only the command's name (`/vouch`), not its arguments. */
  readonly bare?: boolean;
}

/** A part of rich text. Strings are our own words, escaped by each renderer as its markup needs. */
export type RichPart =
  /** A Komrade name (komrade or collective): `@alice`. */
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'strong'; readonly text: Rich }
  | CommandMention
  /**
   * Someone else's words inside our text (a join note): one bounded line, with nothing a
   * markup or a mention could make of it.
   */
  | { readonly kind: 'untrusted'; readonly text: string }
  /**
   * The author's own words shown as their message (a letter, a collective message): as written,
   * escaped only where the surface's markup would let it forge our structure (HTML).
   */
  | { readonly kind: 'verbatim'; readonly text: string };

/** Text with structure: a string, a part, or a sequence of them (concatenated). */
export type Rich = string | RichPart | readonly Rich[];

/** `@name`. */
export const name = (value: string): RichPart => ({ kind: 'name', name: value });
export const strong = (text: Rich): RichPart => ({ kind: 'strong', text });
export const untrusted = (text: string): RichPart => ({ kind: 'untrusted', text });
export const verbatim = (text: string): RichPart => ({ kind: 'verbatim', text });

/** A command to type, e.g. `command('vouch', { collective: 'portland', candidate: 'dave' })`. */
export const command = (
  commandName: string,
  args?: Readonly<Record<string, string>>,
): CommandMention =>
  args === undefined
    ? { kind: 'command', command: commandName }
    : { kind: 'command', command: commandName, args };

/** The command's name only: `/vouch`. */
export const bare = (commandName: string): CommandMention => ({
  kind: 'command',
  command: commandName,
  bare: true,
});

/** Parts joined by line breaks. */
export function lines(...parts: readonly (Rich | undefined)[]): Rich {
  const kept = parts.filter((part): part is Rich => part !== undefined);
  return kept.flatMap((part, i) => (i === 0 ? [part] : ['\n', part]));
}

/** Parts joined by `separator`. */
export function join(parts: readonly Rich[], separator: Rich): Rich {
  return parts.flatMap((part, i) => (i === 0 ? [part] : [separator, part]));
}

/** `1 vouch`, `2 vouches`. */
export const count = (n: number, one: string, many = `${one}s`): string =>
  `${n} ${n === 1 ? one : many}`;

/** A time as every surface shows it: `2026-12-02 18:50 UTC`. */
export const time = (ms: number): string =>
  `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
