/** A result union, used only where failure is an expected answer (parsing, verifying, looking up). */
import type { KomradeError } from './komrade-error.js';

export type Result<T, E = KomradeError> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
