/**
 * Hostile config files: inputs found by fuzzing that stalled the YAML loader, escaped as untyped
 * errors that echoed config text, or injected lines into the error output. Every one now fails
 * fast with `CONFIG_INVALID`, naming the file, line and field and never a value. Timings are
 * printed, not asserted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { loadYamlConfig, parseYamlConfig } from '../../common/config/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { parseOperatorConfig } from '../../operator/config/load-operator-config.js';

/** A string that must never appear in any error output. */
const CANARY = 'hunter2canary';

const schema = z.strictObject({
  name: z.string().default('x'),
  list: z.array(z.unknown()).default([]),
  nested: z.record(z.string(), z.unknown()).default({}),
});

/** Parses `text`, returns the typed error and prints how long the refusal took. */
function refusal(label: string, text: string): KomradeError {
  const started = performance.now();
  try {
    parseYamlConfig(text, schema, 'hostile.yaml');
  } catch (error) {
    const ms = performance.now() - started;
    process.stdout.write(`${label}: ${text.length} bytes refused in ${ms.toFixed(1)} ms\n`);
    if (error instanceof KomradeError) return error;
    throw error;
  }
  throw new Error(`${label}: parsed without error`);
}

describe('bounded parsing', () => {
  it('refuses nested explicit complex keys (`? ? ? …`, under 1 KB) by name and line', () => {
    const text = `${'? '.repeat(400)}x\n`;
    expect(text.length).toBeLessThan(1024);
    const error = refusal('400 nested `?` keys', text);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/hostile\.yaml:1:1: a key must be a plain name/);
  });

  it('refuses nested flow keys (`{{{x: 1}: 1}: 1}`, under 1 KB)', () => {
    const text = `${'{'.repeat(160)}x${': 1}'.repeat(160)}: 1\n`;
    expect(text.length).toBeLessThan(1024);
    const error = refusal('160 nested `{` keys', text);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/hostile\.yaml:1:\d+: .*nested more than 16 deep/);
  });

  it('refuses one flat complex key (a map or a list as a key)', () => {
    for (const text of ['{a: 1}: 2\n', '[a, b]: 1\n', 'nested:\n  ? [a]\n  : 1\n']) {
      const error = refusal(`complex key ${JSON.stringify(text)}`, text);
      expect(error.message).toMatch(/hostile\.yaml:\d+:\d+: .*a key must be a plain /);
    }
  });

  it('refuses deep flow nesting and deep block nesting, naming where it gets too deep', () => {
    const flow = refusal('30,000 nested `[`', `list: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`);
    expect(flow.message).toMatch(/hostile\.yaml:1:\d+: .*nested more than 16 deep/);
    const block = Array.from({ length: 40 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    const error = refusal('40 nested block maps', `nested:\n${block.replace(/^/gm, ' ')} 1\n`);
    expect(error.message).toMatch(
      /hostile\.yaml:\d+:\d+: nested\.k0\.k1\.k2.*: .*nested more than/,
    );
  });

  it('refuses a file larger than the cap before parsing it', () => {
    const error = refusal('big file', `name: ${'x'.repeat(300_000)}\n`);
    expect(error.message).toMatch(/hostile\.yaml: larger than \d+ KiB/);
  });

  it('refuses 12,000 nested `{` (crashed the process before) within the size cap', () => {
    const text = `${'{'.repeat(12_000)}${'}'.repeat(12_000)}\n`;
    expect(refusal('12,000 nested `{`', text).code).toBe('CONFIG_INVALID');
  });

  it('still loads ordinary YAML, including an anchor used later', () => {
    const config = parseYamlConfig(
      'name: &n komrade\nlist: [*n, 2, {a: 1}]\nnested: { a: { b: [1] } }\n',
      schema,
      'ok.yaml',
    );
    expect(config.list).toEqual(['komrade', 2, { a: 1 }]);
  });
});

describe('alias errors are typed and never echo config text', () => {
  it('an alias bomb', () => {
    const text =
      `name: &a [${CANARY}, ${CANARY}]\n` +
      'list: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
      'nested: { c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], d: [*c,*c,*c,*c,*c,*c,*c,*c,*c] }\n';
    const error = refusal('alias bomb', text);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/hostile\.yaml:\d+:\d+: [a-z0-9.]+: .*alias/);
    expect(error.message).not.toContain(CANARY);
    // Under the alias count, the expansion bound still holds, and is typed too.
    const fewer =
      `name: &a [${CANARY}, ${CANARY}, ${CANARY}, ${CANARY}]\n` +
      'list: &b [*a,*a,*a,*a,*a]\n' +
      'nested: { c: &c [*b,*b,*b,*b,*b], d: [*c,*c,*c,*c,*c] }\n';
    const expanded = refusal('alias bomb, 15 aliases', fewer);
    expect(expanded.message).toMatch(/hostile\.yaml:2:11: aliases expand too far/);
    expect(expanded.message).not.toContain(CANARY);
  });

  it('an alias used before its anchor', () => {
    const error = refusal('alias before anchor', `name: *${CANARY}\nlist: &${CANARY} [1]\n`);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/hostile\.yaml:1:7: name: an alias used before its anchor/);
    expect(error.message).not.toContain(CANARY);
  });

  it('a syntax error does not echo the text around it either', () => {
    const error = refusal('syntax error', `name: "${CANARY}\nlist: [1, 2\n`);
    expect(error.message).toMatch(/hostile\.yaml:\d+:\d+: YAML syntax error/);
    expect(error.message).not.toContain(CANARY);
  });

  it('the YAML library prints nothing to the process (no warnings that quote the text)', () => {
    const warn = vi.spyOn(process, 'emitWarning');
    try {
      refusal('complex key with a canary', `{${CANARY}: 1}: 2\n`);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});

describe('unknown keys are printed escaped and shortened', () => {
  it('a key with a newline cannot add a line to the output', () => {
    const error = refusal('newline key', '"evil\\nhostile.yaml:9:9: fake line": 1\n');
    const lines = error.message.split('\n');
    expect(lines.some((line) => line.startsWith('hostile.yaml:9:9'))).toBe(false);
    expect(error.message).toContain('unknown key "evil\\nhostile.yaml:9:9: fake line"');
  });

  it('a long key is cut to 40 characters', () => {
    const key = `${'k'.repeat(39)}${CANARY}`;
    const error = refusal('long key', `${key}: 1\n`);
    expect(error.message).toContain(`unknown key "${'k'.repeat(39)}h…"`);
    expect(error.message).not.toContain(CANARY);
  });

  it('a key inside a record is escaped in the field path too', () => {
    const strict = z.strictObject({
      peers: z.record(z.string(), z.strictObject({ port: z.number() })),
    });
    try {
      parseYamlConfig('peers:\n  "a\\nb":\n    port: x\n', strict, 'peers.yaml');
      throw new Error('parsed');
    } catch (error) {
      if (!(error instanceof KomradeError)) throw error;
      expect(error.message).toContain('peers.yaml:3:11: peers["a\\nb"].port:');
    }
  });
});

describe('through the loaders and the real entry points', () => {
  let dir: string;
  const bombText =
    `log: &a [${CANARY}, ${CANARY}]\n` +
    'x: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
    'y: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n' +
    'z: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
  const files: Record<string, string> = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'komrade-hostile-'));
    const write = (name: string, text: string) => {
      files[name] = join(dir, name);
      writeFileSync(join(dir, name), text);
    };
    write('bomb.yaml', bombText);
    write('early.yaml', `log: *${CANARY}\n`);
    write('nested.yaml', `${'? '.repeat(400)}${CANARY}\n`);
    write('newline.yaml', '"evil\\nFAKE LINE": 1\n');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loadYamlConfig and the Operator config parser throw typed errors', () => {
    for (const name of ['bomb.yaml', 'early.yaml', 'nested.yaml']) {
      const path = files[name] ?? '';
      expect(() => loadYamlConfig(path, schema)).toThrow(KomradeError);
    }
    expect(() => parseOperatorConfig(bombText, 'op.yaml')).toThrow(/op\.yaml:\d+:\d+: /);
  });

  /** Runs a built main with `--config file`; resolves with its exit code and stderr. */
  function run(main: string, file: string) {
    return new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [main, '--config', file], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '' },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => {
        resolve({ code, stderr });
      });
    });
  }

  it.each([
    ['Operator', 'dist/operator/main.js'],
    ['Telegram bot', 'dist/adapters/telegram/main.js'],
    ['Discord bot', 'dist/adapters/discord/main.js'],
  ])(
    'the %s names file and line and never the canary',
    async (_who, main) => {
      const names = ['bomb.yaml', 'early.yaml', 'nested.yaml', 'newline.yaml'];
      const runs = await Promise.all(names.map((name) => run(main, files[name] ?? '')));
      for (const [i, { code, stderr }] of runs.entries()) {
        const path = files[names[i] ?? ''] ?? '';
        expect(code, `${main} ${path}: ${stderr}`).not.toBe(0);
        expect(stderr, `${main} ${path}`).toMatch(
          new RegExp(`${path.replace(/\W/g, '\\$&')}:\\d+:\\d+: `),
        );
        expect(stderr).not.toContain(CANARY);
        expect(stderr).not.toMatch(/^FAKE LINE/m);
      }
    },
    // A bot's process loads its platform library first: seconds on a busy machine.
    120_000,
  );
});
