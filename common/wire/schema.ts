/** Parses untrusted data against a zod schema into a Result whose error names paths, never values. */
import { z } from 'zod';
import { KomradeError, err, ok, type ErrorCode, type Result } from '../errors/index.js';

/** `path: message` for each issue, e.g. `letters.0.to: Invalid input: expected string`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Validates `input` (typed `unknown` on purpose: it came from outside) against `schema`.
 * @param code - the error code to fail with
 * @param what - a noun for the message, e.g. "send request"
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  code: ErrorCode,
  what: string,
): Result<z.output<S>> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  return err(new KomradeError(code, `Malformed ${what}: ${describeIssues(parsed.error)}`));
}

/** A zod schema for raw bytes (decoded CBOR byte strings). */
export const rawBytes = () =>
  z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes');
