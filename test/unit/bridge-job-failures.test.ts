/**
 * Which queued-job failures are permanent: one exhaustive table over the error codes, read from the
 * code a failure carries (never from its message).
 */
import { UnrecoverableError } from 'bullmq';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { JOB_FAILURES, type JobFailure } from '../../bridge/index.js';
import { codeOf, failureOf, forQueue } from '../../bridge/engine/job-failures.js';
import {
  CLIENT_ERROR_CODES,
  KomradeError,
  OPERATOR_ERROR_CODES,
  type ErrorCode,
} from '../../common/errors/index.js';

describe('JOB_FAILURES', () => {
  it('classifies every error code, and nothing else', () => {
    expectTypeOf(JOB_FAILURES).toEqualTypeOf<Readonly<Record<ErrorCode, JobFailure>>>();
    expect(Object.keys(JOB_FAILURES).sort()).toEqual(
      [...OPERATOR_ERROR_CODES, ...CLIENT_ERROR_CODES].sort(),
    );
  });

  it('gives up at once on what no retry fixes, and retries what may pass', () => {
    for (const code of ['BAD_SIGNATURE', 'NAME_UNKNOWN', 'NOT_MEMBER', 'KEY_INVALID'] as const) {
      expect(failureOf(new KomradeError(code, 'x'))).toBe('permanent');
    }
    for (const code of [
      'OPERATOR_UNREACHABLE',
      'TOR_UNAVAILABLE',
      'COLLECTIVE_CONFLICT',
      'MAILBOX_FULL',
      'INTERNAL',
    ] as const) {
      expect(failureOf(new KomradeError(code, 'x'))).toBe('retry');
    }
  });

  it('reads the code, not the message: a code-like message decides nothing', () => {
    // Before, an UnrecoverableError whose message looked like a code was taken for that code.
    expect(codeOf(new UnrecoverableError('BAD_SIGNATURE'))).toBe('INTERNAL');
    expect(failureOf(new Error('NOT_MEMBER'))).toBe('retry');
    // A code that crossed a process boundary on a plain Error still counts.
    expect(failureOf(Object.assign(new Error('gone'), { code: 'NOT_MEMBER' }))).toBe('permanent');
    // System codes are kept for logs and retried.
    const refused = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
    expect(codeOf(refused)).toBe('ECONNREFUSED');
    expect(failureOf(refused)).toBe('retry');
    expect(codeOf('not an error')).toBe('INTERNAL');
  });

  it('turns a permanent failure into an UnrecoverableError carrying the code, and keeps the rest', () => {
    const permanent = forQueue(new KomradeError('KEYSTORE_MISSING', 'gone'));
    expect(permanent).toBeInstanceOf(UnrecoverableError);
    expect(permanent.name).toBe('UnrecoverableError');
    expect(codeOf(permanent)).toBe('KEYSTORE_MISSING');
    const transient = new KomradeError('OPERATOR_UNREACHABLE', 'down');
    expect(forQueue(transient)).toBe(transient);
    expect(forQueue('thrown string')).toBeInstanceOf(Error);
  });
});
