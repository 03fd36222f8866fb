/** The Operator's config: defaults, strictness, and errors that locate the problem but never echo it. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isKomradeError } from '../../common/errors/index.js';
import { operatorConfigSchema, parseOperatorConfig } from '../../operator/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function messageOf(text: string): string {
  try {
    parseOperatorConfig(text, 'operator.yaml');
  } catch (error) {
    expect(isKomradeError(error, 'CONFIG_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('config was accepted');
}

describe('Operator config', () => {
  it('gives every default for an empty file', () => {
    const config = parseOperatorConfig('');
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8470,
      maxRequestBytes: 4_194_304,
      bodyTimeoutSeconds: 30,
    });
    expect(config.store.dataDir).toBe('./data');
    expect(config.registration.powBits).toBe(20);
    expect(config.mail).toEqual({
      maxSealedLetterBytes: 65_536,
      maxBatchLetters: 64,
      mailboxQuotaLetters: 5_000,
      expireDays: 21,
      fetchLetters: 200,
      maxWaitSeconds: 55,
    });
    expect(config.tokens).toEqual({ perDay: 500 });
    expect(config.feed).toEqual({ maxPostDays: 30, pageSize: 50 });
    expect(config.sweeper.intervalSeconds).toBe(60);
    expect(config.log.level).toBe('info');
    expect(config.tor).toEqual({
      binary: 'tor',
      control: null,
      cookieFile: null,
      bootstrapTimeoutSeconds: 180,
      bootstrapStallSeconds: 30,
      extraTorrcLines: [],
      onionVirtualPort: 80,
      onionbalance: null,
    });
    expect(Object.isFrozen(config.mail)).toBe(true);
  });

  it('the example file is valid and spells out every default', () => {
    const example = readFileSync(join(ROOT, 'config', 'operator.example.yaml'), 'utf8');
    expect(parseOperatorConfig(example, 'operator.example.yaml')).toEqual(parseOperatorConfig(''));
  });

  it('launches tor by default, or attaches to a control port or socket', () => {
    expect(parseOperatorConfig('tor:\n  control: { port: 9051 }\n').tor.control).toEqual({
      port: 9051,
    });
    const socket = parseOperatorConfig(
      'tor:\n  control: { socket: /run/tor/control }\n  cookieFile: /run/tor/control.authcookie\n',
    ).tor;
    expect(socket.control).toEqual({ socket: '/run/tor/control' });
    expect(socket.cookieFile).toBe('/run/tor/control.authcookie');
    expect(messageOf('tor:\n  control: { host: example.org }\n')).toContain('tor.control');
    expect(messageOf('tor:\n  control: { port: 70000 }\n')).toContain('tor.control');
    expect(messageOf('tor:\n  onionVirtualPort: 0\n')).toContain('tor.onionVirtualPort');
    expect(messageOf('tor:\n  extraTorrcLines: [1]\n')).toContain('tor.extraTorrcLines.0');
    expect(messageOf('tor:\n  binray: tor\n')).toContain('binray');
    expect(messageOf('tor:\n  onionbalance: { masterAddress: example.onion }\n')).toContain(
      'tor.onionbalance.masterAddress',
    );
  });

  it('fills defaults beside the keys given', () => {
    const config = parseOperatorConfig('mail:\n  expireDays: 7\n');
    expect(config.mail.expireDays).toBe(7);
    expect(config.mail.mailboxQuotaLetters).toBe(5_000);
  });

  it('rejects an unknown key, naming it and its line', () => {
    const message = messageOf('http:\n  port: 8470\n  prot: 1\n');
    expect(message).toContain('operator.yaml:');
    expect(message).toContain('prot');
    expect(messageOf('bogus: true\n')).toContain('bogus');
  });

  it('rejects a wrong type, naming the dotted path and line', () => {
    const message = messageOf('feed:\n  pageSize: lots\n');
    expect(message).toContain('feed.pageSize');
    expect(message).toContain('operator.yaml:2:');
  });

  it('reports a YAML syntax error with its line number', () => {
    const message = messageOf('http:\n  port: 1\n    bad: [\n');
    expect(message).toMatch(/operator\.yaml:\d+:\d+: YAML syntax error/);
  });

  it('never echoes a value, even a secret-looking one', () => {
    const secret = 'sk-live-THIS-IS-SECRET-0123456789';
    for (const text of [
      `store:\n  dataDir: 5\n  password: ${secret}\n`,
      `http:\n  host: ${secret}\n`,
      `log:\n  level: ${secret}\n`,
      `registration:\n  powBits: "${secret}"\n`,
    ]) {
      expect(messageOf(text)).not.toContain(secret);
    }
  });

  it('accepts only loopback hosts', () => {
    expect(messageOf('http:\n  host: 0.0.0.0\n')).toContain('loopback');
    expect(messageOf('http:\n  host: 192.168.1.10\n')).toContain('http.host');
    for (const host of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) {
      expect(parseOperatorConfig(`http:\n  host: "${host}"\n`).http.host).toBe(host);
    }
  });

  it('bounds the body timeout and the bootstrap stall interval, naming the field', () => {
    expect(parseOperatorConfig('http:\n  bodyTimeoutSeconds: 1\n').http.bodyTimeoutSeconds).toBe(1);
    expect(
      parseOperatorConfig('tor:\n  bootstrapStallSeconds: 10\n').tor.bootstrapStallSeconds,
    ).toBe(10);
    for (const bad of ['0', '301', '1.5', 'soon', 'null']) {
      expect(messageOf(`http:\n  bodyTimeoutSeconds: ${bad}\n`)).toContain(
        'http.bodyTimeoutSeconds',
      );
    }
    for (const bad of ['4', '3601', '"30"']) {
      expect(messageOf(`tor:\n  bootstrapStallSeconds: ${bad}\n`)).toContain(
        'tor.bootstrapStallSeconds',
      );
    }
  });

  it('enforces the protocol ceilings', () => {
    expect(messageOf('mail:\n  maxSealedLetterBytes: 100000\n')).toContain(
      'mail.maxSealedLetterBytes',
    );
    // Below 4 KiB no session could start: a first letter always seals into the 4 KiB class.
    expect(messageOf('mail:\n  maxSealedLetterBytes: 2048\n')).toContain(
      'mail.maxSealedLetterBytes',
    );
    expect(
      parseOperatorConfig('mail:\n  maxSealedLetterBytes: 4096\n').mail.maxSealedLetterBytes,
    ).toBe(4_096);
    expect(messageOf('feed:\n  maxPostDays: 400\n')).toContain('feed.maxPostDays');
    expect(parseOperatorConfig('mail:\n  maxWaitSeconds: 600\n').mail.maxWaitSeconds).toBe(600);
    for (const bad of ['0', '601', '2.5']) {
      expect(messageOf(`mail:\n  maxWaitSeconds: ${bad}\n`)).toContain('mail.maxWaitSeconds');
    }
    expect(operatorConfigSchema.safeParse({ http: { port: -1 } }).success).toBe(false);
  });

  it('bounds the daily token allowance, naming the field', () => {
    expect(parseOperatorConfig('tokens:\n  perDay: 1\n').tokens.perDay).toBe(1);
    expect(parseOperatorConfig('tokens:\n  perDay: 20000\n').tokens.perDay).toBe(20_000);
    for (const bad of ['0', '-5', '2.5', '"many"', 'null', '1000001']) {
      expect(messageOf(`tokens:\n  perDay: ${bad}\n`)).toContain('tokens.perDay');
    }
    expect(messageOf('tokens:\n  perWeek: 5\n')).toContain('perWeek');
  });
});
