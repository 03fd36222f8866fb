import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KomradeError } from '../../../common/errors/index.js';
import { parseYamlConfig } from '../../../common/config/index.js';
import { createJsonLogger } from '../../../common/logging/index.js';

const schema = z.strictObject({
  http: z
    .strictObject({ port: z.number().int().min(0).max(65535).default(8470) })
    .default({ port: 8470 }),
  token: z.string().min(10).optional(),
});

function configError(text: string): KomradeError {
  try {
    parseYamlConfig(text, schema, 'test.yaml');
  } catch (error) {
    if (error instanceof KomradeError) return error;
    throw error;
  }
  throw new Error('parsed without error');
}

describe('YAML config loading', () => {
  it('applies defaults and deep-freezes', () => {
    const config = parseYamlConfig('', schema, 'test.yaml');
    expect(config.http.port).toBe(8470);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('names the field and line of an unknown key', () => {
    const error = configError('http:\n  port: 1\n  prot: 2\n');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/test\.yaml:2:3: http: unknown key "prot"/);
  });

  it('names the field of a wrong type without echoing the value', () => {
    const error = configError('token: 123456789012345\nhttp:\n  port: "s3cr3t-value"\n');
    expect(error.message).toMatch(/test\.yaml:3:9: http\.port/);
    expect(error.message).not.toContain('s3cr3t-value');
    const short = configError('token: hunter2\n');
    expect(short.message).toMatch(/token/);
    expect(short.message).not.toContain('hunter2');
  });

  it('reports YAML syntax errors with a line', () => {
    const error = configError('http:\n  port: [1, 2\n');
    expect(error.message).toMatch(/test\.yaml:\d+:\d+: YAML syntax error/);
    expect(configError('a: 1\na: 2\n').message).toMatch(/YAML syntax error \(DUPLICATE_KEY\)/);
  });
});

describe('logger', () => {
  it('redacts fields that could carry names, keys or content', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ write: (l) => lines.push(l), now: () => 0 });
    log.info('letter.sent', { name: 'alice', body: 'secret plan', status: 201, ms: 3 });
    log.debug('hidden');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({
      event: 'letter.sent',
      name: '[redacted]',
      body: '[redacted]',
      status: 201,
    });
    expect(lines[0]).not.toContain('alice');
    expect(lines[0]).not.toContain('secret plan');
  });
});
