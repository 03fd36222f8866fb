/** The registry log routes' query strings, read strictly: only the expected whole numbers. */
import { KomradeError } from '../../../common/errors/index.js';

const CANONICAL = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Reads `query` (without the `?`) as exactly the parameters `names`, each once, each a tree
 * position in canonical decimal (no sign, no leading zero, no escape, at most 2^53 − 1).
 * @throws KomradeError `BAD_REQUEST` naming what is wrong
 */
export function logQuery<const N extends string>(
  query: string | undefined,
  names: readonly N[],
): Record<N, number> {
  const values = new Map<string, number>();
  for (const part of (query ?? '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const raw = eq === -1 ? '' : part.slice(eq + 1);
    if (!(names as readonly string[]).includes(name)) {
      throw new KomradeError(
        'BAD_REQUEST',
        `Unknown query parameter; this route takes ${list(names)}.`,
      );
    }
    if (values.has(name)) throw new KomradeError('BAD_REQUEST', `"${name}" is given twice.`);
    const value = Number(raw);
    if (!CANONICAL.test(raw) || !Number.isSafeInteger(value)) {
      throw new KomradeError(
        'BAD_REQUEST',
        `"${name}" must be a whole number in plain decimal (no sign or leading zero).`,
      );
    }
    values.set(name, value);
  }
  const result = {} as Record<N, number>;
  for (const name of names) {
    const value = values.get(name);
    if (value === undefined)
      throw new KomradeError('BAD_REQUEST', `This route needs ${list(names)}.`);
    result[name] = value;
  }
  return result;
}

const list = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(' and ');
