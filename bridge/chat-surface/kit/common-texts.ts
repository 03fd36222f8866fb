/** The words every surface shares: help, usage, what to do first, and errors. */
import { isKomradeError, type ErrorCode } from '../../../common/errors/index.js';
import type { CommandSpec } from './command.js';
import { optionalHere } from './command-syntax.js';
import { bare, command, join, lines, type Rich } from './rich-text.js';
import { offers, type Surface } from './surface.js';
import type { CommonView } from './views.js';

/** A command's usage line with its summary, and an example when it has one. */
const usageLine = (spec: CommandSpec): Rich => [
  command(spec.name),
  ` — ${spec.summary}`,
  ...(spec.example === undefined ? [] : [', e.g. ', command(spec.name, spec.example)]),
];

/** Help: what this surface is, then each command it offers. */
export function helpText(surface: Surface, first: boolean): Rich {
  return lines(
    first ? surface.about.greeting : surface.about.help,
    '',
    'Commands:',
    ...surface.commands.map((spec) => [command(spec.name), ` — ${spec.summary}`]),
    ...(surface.about.footer === undefined ? [] : ['', surface.about.footer]),
  );
}

export function commonText(view: CommonView, surface: Surface): Rich {
  switch (view.kind) {
    case 'no-identity':
      return ['You have no Komrade identity here yet. Start with ', command('register'), '.'];
    case 'not-registered':
      return ['Your registration did not finish. ', command('register'), ' again.'];
    case 'busy':
      return 'Still working on your last request; wait a moment.';
    case 'unknown-command':
      return [`I don't know /${view.typed}. `, bare('help'), ' lists what I understand.'];
    case 'usage': {
      const { arg, error } = view.problem;
      const which =
        arg !== undefined && error === undefined && surface.channelLinks && optionalHere(arg, true)
          ? 'Which collective? Add it, or run the command in a channel linked to one.'
          : undefined;
      const problem = error === undefined || error.code === 'USAGE' ? undefined : error.message;
      return lines(
        problem,
        which,
        view.specs.length === 1
          ? ['Usage: ', ...[usageLine(view.specs[0] as CommandSpec)]]
          : 'Usage:',
        ...(view.specs.length === 1 ? [] : view.specs.map(usageLine)),
      );
    }
    case 'error':
      return errorText(view.error, surface);
  }
}

/** The same answer for "cannot reach the Operator" whatever the cause. */
const UNREACHABLE = 'The Komrade Operator cannot be reached right now. Try again in a minute.';

/** Codes whose own message is not what a chat user needs; any other shows its message. */
const FRIENDLY: Partial<Record<ErrorCode, (surface: Surface) => Rich>> = {
  NOT_REGISTERED: () => ['Register first: ', command('register')],
  KEYSTORE_MISSING: () => [
    'You have no Komrade identity here yet. Start with ',
    command('register'),
    '.',
  ],
  OPERATOR_UNREACHABLE: () => UNREACHABLE,
  TOR_UNAVAILABLE: () => UNREACHABLE,
  NAME_UNKNOWN: () => 'No komrade or collective is registered under that name.',
  EMPTY_MESSAGE: () => 'There is nothing to send: write some text (blank messages are not sent).',
  // The Operator's wording is about its log; say what to do instead.
  NOT_MEMBER: (surface) =>
    offers(surface, 'join')
      ? [
          'You are not a member of that collective, nor waiting to join it. ',
          command('join'),
          ' asks to join.',
        ]
      : 'You are not a member of that collective, nor waiting to join it.',
  COLLECTIVE_CONFLICT: () =>
    'The collective changed while I was working on it (someone else acted first). Try again.',
};

/** A short, safe answer for an error (`KomradeError` messages are safe by design). */
export function errorText(error: unknown, surface: Surface): Rich {
  if (!isKomradeError(error)) return 'Something went wrong on my side. Try again in a minute.';
  return FRIENDLY[error.code]?.(surface) ?? error.message;
}

/** Names as a list: `@a, @b`. */
export const nameList = (names: readonly string[], each: (n: string) => Rich): Rich =>
  join(names.map(each), ', ');
