/**
 * How users type commands: as words after `/cmd` (Telegram, a terminal) or as named options of a
 * slash command (Discord). Parsing, checking and writing a command (for usage lines and the
 * examples in the catalogue's texts) follow the command's schema, so no surface repeats them.
 */
import { KomradeError, err, ok, type Result } from '../../../common/errors/index.js';
import { parseName, parseNewName } from '../../../common/wire/index.js';
import type { ArgProblem, ArgSpec, ArgValues, CommandSpec } from './command.js';
import { typedName } from './command.js';

/** The two ways of typing a command. */
export type CommandSyntax = 'words' | 'options';

/** What a parse gives: the command and its checked arguments, or why not. */
export type ParsedCommand =
  | { readonly ok: true; readonly spec: CommandSpec; readonly args: ArgValues }
  | { readonly ok: false; readonly problem: ArgProblem };

/** A raw value as a surface hands it over (a word, an option's value; nothing when absent). */
export type RawArg = string | number | boolean | null | undefined;

const INTEGER = /^#?\d{1,15}$/;
const DAYS = /^(\d{1,3})d$/i;

/**
 * Checks one argument's raw value.
 * @returns the checked value (`undefined` for an optional one left out), or the problem
 */
export function checkArg(arg: ArgSpec, raw: RawArg): Result<string | number | undefined> {
  const missing =
    raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
  if (missing)
    return arg.optional === true ? ok(undefined) : err(usageError(`${arg.name} is missing`));
  if (
    typeof raw === 'string' &&
    arg.maxLength !== undefined &&
    Array.from(raw).length > arg.maxLength
  ) {
    return err(
      new KomradeError(
        'USAGE',
        `That ${arg.name} is too long: at most ${arg.maxLength} characters.`,
      ),
    );
  }
  switch (arg.kind) {
    case 'name':
    case 'collective':
      return parseName(String(raw));
    case 'new-name':
      return parseNewName(String(raw));
    case 'integer':
    case 'days': {
      const text = String(raw).trim();
      const match = arg.kind === 'days' ? DAYS.exec(text) : null;
      const digits =
        arg.kind === 'days'
          ? (match?.[1] ?? (/^\d{1,3}$/.test(text) ? text : undefined))
          : INTEGER.test(text)
            ? text.replace('#', '')
            : undefined;
      const value = digits === undefined ? Number.NaN : Number(digits);
      if (
        !Number.isSafeInteger(value) ||
        value < (arg.min ?? 0) ||
        value > (arg.max ?? Number.MAX_SAFE_INTEGER)
      ) {
        return err(usageError(`${arg.name} must be a whole number${bounds(arg)}`));
      }
      return ok(value);
    }
    case 'choice': {
      const text = String(raw).trim().toLowerCase();
      const choice = arg.choices?.find(
        (c) => c === text || (text.length === 1 && c.startsWith(text)),
      );
      return choice === undefined
        ? err(usageError(`${arg.name} must be ${(arg.choices ?? []).join(' or ')}`))
        : ok(choice);
    }
    case 'text':
      return ok(String(raw));
  }
}

const bounds = (arg: ArgSpec) =>
  arg.min === undefined || arg.max === undefined ? '' : ` from ${arg.min} to ${arg.max}`;

/** Marks a problem the usage line answers (its message is for logs and tests, not shown alone). */
const usageError = (message: string) => new KomradeError('USAGE', `${message}.`);

/**
 * Parses words typed after a command (`portland @dave`) against the commands typed alike
 * (`/propose` has one per keyword). Optional arguments are taken when the next word fits them.
 * @param linkedCollective - the collective a linked channel stands for, if the surface has links
 */
export function parseWords(
  specs: readonly CommandSpec[],
  text: string,
  linkedCollective?: string,
): ParsedCommand {
  const words = text.trim().length === 0 ? [] : text.trim().split(/\s+/);
  let first: ParsedCommand | undefined;
  for (const spec of specs) {
    const parsed = parseWordsFor(spec, words, text, linkedCollective);
    if (parsed.ok) return parsed;
    // A keyword that matched says which command was meant: its problem is the one to tell.
    const keyword = spec.keyword;
    if (keyword !== undefined && words[keyword.after]?.toLowerCase() === keyword.word)
      return parsed;
    first ??= parsed;
  }
  return first ?? { ok: false, problem: {} };
}

function parseWordsFor(
  spec: CommandSpec,
  words: readonly string[],
  text: string,
  linkedCollective: string | undefined,
): ParsedCommand {
  const values: Record<string, string | number> = {};
  let at = 0;
  const fail = (arg?: ArgSpec, error?: KomradeError): ParsedCommand => ({
    ok: false,
    problem: { ...(arg === undefined ? {} : { arg }), ...(error === undefined ? {} : { error }) },
  });
  for (const [index, arg] of spec.args.entries()) {
    if (spec.keyword?.after === index) {
      if (words[at]?.toLowerCase() !== spec.keyword.word) return fail();
      at += 1;
    }
    if (arg.kind === 'text') {
      const rest = restAfter(text, at);
      at = words.length;
      const checked = checkArg(arg, rest);
      if (!checked.ok) return fail(arg, checked.error);
      if (checked.value !== undefined) values[arg.name] = checked.value;
      continue;
    }
    const word = words[at];
    const raw = standsInForLink(arg) && word === undefined ? linkedCollective : word;
    // A lifetime is typed `3d`: a bare number is a word of the text that follows.
    const checked =
      arg.kind === 'days' && word !== undefined && !DAYS.test(word)
        ? err(usageError(`${arg.name} is typed like 3d`))
        : checkArg(arg, raw);
    if (!checked.ok) {
      // An optional argument that does not fit is left out; the word belongs to the next one.
      if (arg.optional === true && word !== undefined) continue;
      return fail(arg, raw === undefined ? undefined : checked.error);
    }
    if (checked.value !== undefined) values[arg.name] = checked.value;
    if (word !== undefined) at += 1;
  }
  if (spec.keyword !== undefined && spec.keyword.after >= spec.args.length) {
    if (words[at]?.toLowerCase() !== spec.keyword.word) return fail();
    at += 1;
  }
  return at < words.length ? fail() : { ok: true, spec, args: values };
}

/** The text after the first `count` words, as typed (its own spacing and line breaks kept). */
function restAfter(text: string, count: number): string {
  let rest = text.trimStart();
  for (let i = 0; i < count; i += 1) rest = rest.replace(/^\S+\s*/, '');
  return rest.trim();
}

/**
 * Checks the options of a slash command against its schema.
 * @param get - the option's value as the platform gave it, `null` when absent
 * @param linkedCollective - the collective a linked channel stands for, if any
 */
export function parseOptions(
  spec: CommandSpec,
  get: (arg: ArgSpec) => RawArg,
  linkedCollective?: string,
): ParsedCommand {
  const values: Record<string, string | number> = {};
  for (const arg of spec.args) {
    let raw = get(arg);
    if (standsInForLink(arg) && (raw === null || raw === undefined)) raw = linkedCollective;
    const checked = checkArg(arg, raw);
    // A left-out value has no problem of its own (as on word surfaces): usage says what to add.
    if (!checked.ok) {
      const missing = raw === null || raw === undefined;
      return { ok: false, problem: missing ? { arg } : { arg, error: checked.error } };
    }
    if (checked.value !== undefined) values[arg.name] = checked.value;
  }
  return { ok: true, spec, args: values };
}

/**
 * Whether an argument may be left out on a surface: optional ones, and a collective where a
 * linked channel can stand in for it.
 */
export const optionalHere = (arg: ArgSpec, channelLinks: boolean): boolean =>
  arg.optional === true || (channelLinks && standsInForLink(arg));

/** A left-out collective is taken from the channel's link. */
const standsInForLink = (arg: ArgSpec) => arg.kind === 'collective' && arg.explicit !== true;

/**
 * A command as typed, for usage lines and examples: `/vouch portland @dave` (words) or
 * `/vouch candidate:dave collective:portland` (options). Arguments without a value show their
 * placeholder (words) or their name (options); optional ones without a value are left out of
 * examples and bracketed in usage lines.
 * @param values - example values by argument name; `undefined` writes the usage line
 */
export function writeCommand(
  spec: CommandSpec,
  syntax: CommandSyntax,
  values: Readonly<Record<string, string>> | undefined,
  options: { readonly channelLinks?: boolean; readonly typed?: string } = {},
): string {
  const typed = options.typed ?? typedName(spec);
  const channelLinks = options.channelLinks ?? false;
  if (syntax === 'options') {
    const parts = [`/${typed}`];
    if (spec.keyword !== undefined) parts.push(spec.keyword.word);
    // Discord lists required options first.
    const ordered = [...spec.args].sort(
      (a, b) => Number(optionalHere(a, channelLinks)) - Number(optionalHere(b, channelLinks)),
    );
    for (const arg of ordered) {
      const value = values?.[arg.name];
      if (value !== undefined) parts.push(`${arg.name}:${value}`);
      else if (values === undefined) {
        const option = `${arg.name}:${optionPlaceholder(arg)}`;
        parts.push(optionalHere(arg, channelLinks) ? `[${option}]` : option);
      }
    }
    return parts.join(' ');
  }
  const parts = [`/${typed}`];
  spec.args.forEach((arg, index) => {
    if (spec.keyword?.after === index) parts.push(spec.keyword.word);
    const value = values?.[arg.name];
    if (value !== undefined) parts.push(arg.kind === 'name' ? `@${value}` : value);
    else if (values === undefined) {
      parts.push(arg.optional === true ? `[${arg.placeholder}]` : arg.placeholder);
    }
  });
  if (spec.keyword !== undefined && spec.keyword.after >= spec.args.length)
    parts.push(spec.keyword.word);
  return parts.join(' ');
}

/** What a usage line shows for an option's value: `NAME`, `N`, `yes|no`, `TEXT`. */
function optionPlaceholder(arg: ArgSpec): string {
  switch (arg.kind) {
    case 'name':
    case 'collective':
    case 'new-name':
      return 'NAME';
    case 'choice':
      return (arg.choices ?? []).join('|');
    case 'text':
      return 'TEXT';
    case 'integer':
    case 'days':
      return /^[A-Z]+$/.test(arg.placeholder) ? arg.placeholder : 'N';
  }
}
