/** Names as every client operation takes them: `@Alice` and `alice` are one komrade. */
import { parseName } from '../../common/wire/index.js';

/**
 * The canonical form of a komrade's or collective's name (`@` and case dropped).
 * @throws `NAME_INVALID`
 */
export function nameOrThrow(input: string): string {
  const parsed = parseName(input);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
