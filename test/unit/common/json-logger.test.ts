/** The JSON logger: readable signals on stop, and everything secret-looking still redacted. */
import { describe, expect, it } from 'vitest';
import { createJsonLogger, type LogFields } from '../../../common/logging/index.js';

function logged(fields: LogFields): Record<string, unknown> {
  const lines: string[] = [];
  const logger = createJsonLogger({
    write: (line) => {
      lines.push(line);
    },
    now: () => 0,
  });
  logger.info('event', fields);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

describe('createJsonLogger', () => {
  it('writes a process signal as it is', () => {
    expect(logged({ signal: 'SIGTERM' }).signal).toBe('SIGTERM');
    expect(logged({ signal: 'SIGINT' }).signal).toBe('SIGINT');
  });

  it('still redacts a "signal" field that is not a signal name', () => {
    for (const value of ['alice', 'SIGTERM alice', 'sigterm', 'SIG', 'SIGTERM\n{"x":1}']) {
      expect(logged({ signal: value }).signal).toBe('[redacted]');
    }
  });

  it('still redacts signatures, keys, names and bodies, whatever their shape', () => {
    const record = logged({
      sig: 'SIGTERM',
      signature: 'SIGTERM',
      signKey: 'abc',
      name: 'alice',
      body: 'hello',
      token: '123:abc',
      route: '/v1/health',
      status: 200,
    });
    expect(record).toEqual({
      t: '1970-01-01T00:00:00.000Z',
      level: 'info',
      event: 'event',
      sig: '[redacted]',
      signature: '[redacted]',
      signKey: '[redacted]',
      name: '[redacted]',
      body: '[redacted]',
      token: '[redacted]',
      route: '/v1/health',
      status: 200,
    });
  });
});
