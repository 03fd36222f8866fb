/** Komrade names: 3–32 of a–z, 0–9 and `_`, folded to lowercase; look-alikes never pass. */
import { KomradeError, err, ok, type Result } from '../errors/index.js';

export const NAME_MIN_LENGTH = 3;
export const NAME_MAX_LENGTH = 32;

/** Names nobody may register: the feed, the service itself, and words that invite impersonation. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'komrades',
  'komrade',
  'operator',
  'admin',
  'administrator',
  'root',
  'system',
  'support',
  'help',
  'security',
  'official',
  'moderator',
  'mod',
  'staff',
  'everyone',
  'all',
  'null',
  'undefined',
  'anonymous',
  'tor',
]);

/** The name of the world feed. */
export const WORLD_FEED_NAME = 'komrades';

const NAME_SHAPE = /^[a-z0-9_]+$/;

/**
 * Folds and checks a name as typed by a person (`@Alice` → `alice`).
 * Only ASCII letters are folded: any other character, including unicode look-alikes (Cyrillic
 * `а`, fullwidth `ａ`), is refused rather than mapped, so two names never render alike.
 * @returns `NAME_INVALID` or `NAME_RESERVED` errors, or the folded name
 */
export function parseName(input: string): Result<string> {
  const raw = input.startsWith('@') ? input.slice(1) : input;
  if (raw.length === 0) return err(new KomradeError('NAME_INVALID', 'A name cannot be empty.'));
  const folded = raw.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (!NAME_SHAPE.test(folded)) {
    return err(
      new KomradeError(
        'NAME_INVALID',
        'A name may contain only the letters a–z, digits 0–9 and "_" (no spaces, accents or other alphabets).',
      ),
    );
  }
  if (folded.length < NAME_MIN_LENGTH || folded.length > NAME_MAX_LENGTH) {
    return err(
      new KomradeError(
        'NAME_INVALID',
        `A name must be ${NAME_MIN_LENGTH} to ${NAME_MAX_LENGTH} characters long.`,
      ),
    );
  }
  return ok(folded);
}

// Each character on its own: digits that pass for letters, `i` that passes for `l`, and `m`, `w`
// spelt out as the pairs that pass for them. Expanding (not `rn` → `m`) means no rule depends on
// where a run is cut: `vvv`, `vw` and `wv` all become `vvv`.
const LOOK_ALIKES: ReadonlyMap<string, string> = new Map([
  ['0', 'o'],
  ['1', 'l'],
  ['i', 'l'],
  ['3', 'e'],
  ['4', 'a'],
  ['5', 's'],
  ['7', 't'],
  ['m', 'rn'],
  ['w', 'vv'],
]);

/**
 * The form two look-alike names share: `a1ice`, `al_ice` and `ALICE` all give `alice`'s skeleton.
 * Folds ASCII capitals, drops `_`, maps `0`→`o`, `1` and `i`→`l`, `3`→`e`, `4`→`a`, `5`→`s`,
 * `7`→`t`, and spells `m` as `rn` and `w` as `vv`. Each character maps on its own, so the order of
 * the rules does not matter, and `nameSkeleton(nameSkeleton(x)) === nameSkeleton(x)`.
 * A skeleton is only compared, never shown or used as a name.
 * @param name - a name, normally in folded canonical form
 * @example
 * ```ts
 * nameSkeleton('k0mrades') === nameSkeleton('komrades'); // both 'kornrades'
 * ```
 */
export function nameSkeleton(name: string): string {
  let skeleton = '';
  for (const char of name.replace(/[A-Z]/g, (c) => c.toLowerCase())) {
    if (char === '_') continue;
    skeleton += LOOK_ALIKES.get(char) ?? char;
  }
  return skeleton;
}

const RESERVED_SKELETONS: ReadonlySet<string> = new Set([...RESERVED_NAMES].map(nameSkeleton));

/**
 * Like {@link parseName}, but also refuses reserved names and names that look like one
 * (`r00t`, `admln`, `komrades_`): the check for new registrations.
 */
export function parseNewName(input: string): Result<string> {
  const parsed = parseName(input);
  if (!parsed.ok) return parsed;
  if (RESERVED_NAMES.has(parsed.value)) {
    return err(new KomradeError('NAME_RESERVED', 'That name is reserved; choose another.'));
  }
  if (RESERVED_SKELETONS.has(nameSkeleton(parsed.value))) {
    return err(
      new KomradeError('NAME_RESERVED', 'That name looks like a reserved name; choose another.'),
    );
  }
  return parsed;
}

/** True for a name already in folded canonical form (what the wire carries). */
export function isCanonicalName(name: string): boolean {
  const parsed = parseName(name);
  return parsed.ok && parsed.value === name;
}
