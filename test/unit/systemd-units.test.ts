/** The systemd units in config/systemd: sandboxed, restartable, and accepted by systemd itself. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadDiscordConfig } from '../../adapters/discord/config.js';
import { loadTelegramConfig } from '../../adapters/telegram/config.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const UNITS_DIR = join(ROOT, 'config', 'systemd');

/** Each unit and the entry point (under dist/, built from this .ts) it runs. */
const UNITS = [
  { file: 'komrade-operator.service', state: 'komrade-operator', main: 'operator/main' },
  { file: 'komrade-telegram.service', state: 'komrade-telegram', main: 'adapters/telegram/main' },
  { file: 'komrade-discord.service', state: 'komrade-discord', main: 'adapters/discord/main' },
] as const;

type Unit = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

/** Parses systemd's INI dialect: sections, `Key=value` (a key may repeat), `#`/`;` comments. */
function parseUnit(text: string): Unit {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1] ?? '', current);
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (pair === null || current === undefined) {
      throw new Error(`line ${index + 1} is neither a section, a comment nor Key=value`);
    }
    const [, key = '', value = ''] = pair;
    current.set(key, [...(current.get(key) ?? []), value.trim()]);
  }
  return sections;
}

function read(file: string): { text: string; unit: Unit } {
  const text = readFileSync(join(UNITS_DIR, file), 'utf8');
  return { text, unit: parseUnit(text) };
}

/** The one value of `key` in `section` (fails when absent or repeated). */
function value(unit: Unit, section: string, key: string): string {
  const values = unit.get(section)?.get(key);
  expect(values, `${section}.${key}`).toHaveLength(1);
  return values?.[0] ?? '';
}

/** Keys these units may use: a typo would otherwise be ignored by systemd with a mere warning. */
const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  Unit: ['Description', 'Documentation', 'After', 'Wants', 'Requires'],
  Service: [
    'Type',
    'ExecStart',
    'WorkingDirectory',
    'EnvironmentFile',
    'LoadCredential',
    'DynamicUser',
    'User',
    'Group',
    'StateDirectory',
    'StateDirectoryMode',
    'UMask',
    'KillSignal',
    'KillMode',
    'TimeoutStopSec',
    'Restart',
    'RestartSec',
    'NoNewPrivileges',
    'CapabilityBoundingSet',
    'AmbientCapabilities',
    'ProtectSystem',
    'ProtectHome',
    'PrivateTmp',
    'PrivateDevices',
    'ProtectKernelTunables',
    'ProtectKernelModules',
    'ProtectKernelLogs',
    'ProtectControlGroups',
    'ProtectClock',
    'ProtectHostname',
    'RestrictAddressFamilies',
    'RestrictNamespaces',
    'RestrictRealtime',
    'RestrictSUIDSGID',
    'LockPersonality',
    'SystemCallArchitectures',
    'SystemCallFilter',
    'SystemCallErrorNumber',
    'MemoryDenyWriteExecute',
  ],
  Install: ['WantedBy'],
};

function unknownKeys(unit: Unit): string[] {
  const unknown: string[] = [];
  for (const [section, keys] of unit) {
    for (const key of keys.keys()) {
      if (!(KNOWN_KEYS[section] ?? []).includes(key)) unknown.push(`${section}.${key}`);
    }
  }
  return unknown;
}

/** systemd-analyze, when this machine has it. */
function systemdAnalyze(): string | undefined {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? 'systemd-analyze' : undefined;
}

describe.each(UNITS)('$file', ({ file, state, main }) => {
  it('runs the built entry point with a config from /etc/komrade', () => {
    const { unit } = read(file);
    expect(value(unit, 'Unit', 'Description')).not.toBe('');
    const exec = value(unit, 'Service', 'ExecStart');
    expect(exec).toMatch(
      new RegExp(
        `^/usr/bin/node /opt/komrade/dist/${main}\\.js --config /etc/komrade/\\S+\\.yaml$`,
      ),
    );
    expect(existsSync(join(ROOT, `${main}.ts`))).toBe(true);
    expect(value(unit, 'Service', 'WorkingDirectory')).toBe(`/var/lib/${state}`);
    expect(value(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('keeps its state in its own StateDirectory, under a user of its own', () => {
    const { unit } = read(file);
    expect(value(unit, 'Service', 'DynamicUser')).toBe('yes');
    expect(value(unit, 'Service', 'StateDirectory')).toBe(state);
    expect(value(unit, 'Service', 'StateDirectoryMode')).toBe('0700');
    expect(value(unit, 'Service', 'UMask')).toBe('0077');
  });

  it('is sandboxed, but leaves W^X off for the JIT', () => {
    const { unit } = read(file);
    const expected: Record<string, string> = {
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
      SystemCallFilter: '@system-service',
      SystemCallArchitectures: 'native',
      LockPersonality: 'yes',
      RestrictSUIDSGID: 'yes',
      RestrictNamespaces: 'yes',
      MemoryDenyWriteExecute: 'no',
    };
    for (const [key, want] of Object.entries(expected)) {
      expect(value(unit, 'Service', key), key).toBe(want);
    }
  });

  it('stops with SIGTERM in bounded time and restarts after a failure', () => {
    const { unit } = read(file);
    expect(value(unit, 'Service', 'KillSignal')).toBe('SIGTERM');
    expect(Number(value(unit, 'Service', 'TimeoutStopSec'))).toBeGreaterThanOrEqual(20);
    expect(value(unit, 'Service', 'Restart')).toBe('on-failure');
    expect(Number(value(unit, 'Service', 'RestartSec'))).toBeGreaterThan(0);
  });

  it('uses only keys systemd knows', () => {
    expect(unknownKeys(read(file).unit)).toEqual([]);
  });
});

describe('the bot units', () => {
  it('pass their secrets as credentials, never in the unit or the environment', () => {
    for (const { file } of UNITS.slice(1)) {
      const { text, unit } = read(file);
      const credentials = unit.get('Service')?.get('LoadCredential') ?? [];
      expect(credentials.map((c) => c.split(':')[0])).toEqual(['token', 'master-key']);
      for (const credential of credentials) expect(credential).toMatch(/^[a-z-]+:\/etc\/komrade\//);
      expect(text).not.toMatch(/^Environment=/m);
      expect(unit.get('Unit')?.get('After')?.[0]).toContain('tor.service');
    }
  });
});

/** Each bot, its loader, and a token of the shape its platform issues. */
const BOTS = [
  { bot: 'telegram', load: loadTelegramConfig, token: '123456:ABCdef_ghi-JKL' },
  {
    bot: 'discord',
    load: loadDiscordConfig,
    token: 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB',
  },
] as const;

describe.each(BOTS)(
  'the $bot unit with the config docs/self-hosting.md shows',
  ({ bot, load, token }) => {
    it('reads the token and master key from the credentials the unit passes, none from env', () => {
      const { unit } = read(`komrade-${bot}.service`);
      const names = (unit.get('Service')?.get('LoadCredential') ?? []).map((c) => c.split(':')[0]);
      // Stands in for /run/credentials/komrade-<bot>.service, which only systemd creates.
      const credentials = mkdtempSync(join(tmpdir(), 'komrade-credentials-'));
      try {
        const masterKey = 'cd'.repeat(32);
        writeFileSync(join(credentials, 'token'), `${token}\n`, { mode: 0o600 });
        writeFileSync(join(credentials, 'master-key'), `${masterKey}\n`, { mode: 0o600 });
        expect(names).toEqual(['token', 'master-key']);
        const yaml = join(credentials, `${bot}.yaml`);
        writeFileSync(
          yaml,
          [
            `${bot}:`,
            `  token: { file: ${join(credentials, 'token')} }`,
            'operator:',
            `  url: http://${'a'.repeat(56)}.onion`,
            `masterKey: { file: ${join(credentials, 'master-key')} }`,
            'store:',
            `  dataDir: /var/lib/komrade-${bot}`,
            'tor:',
            '  socksPort: 9050',
          ].join('\n'),
        );
        const { config, secrets } = load(yaml, {});
        expect(secrets.token).toBe(token);
        expect(secrets.masterKey).toBe(masterKey);
        expect(config.store.dataDir).toBe(`/var/lib/${value(unit, 'Service', 'StateDirectory')}`);
      } finally {
        rmSync(credentials, { recursive: true, force: true });
      }
    });
  },
);

describe('parseUnit', () => {
  it('refuses a line that is not Key=value', () => {
    expect(() => parseUnit('[Service]\nExecStart /usr/bin/node\n')).toThrow(/line 2/);
    expect(() => parseUnit('Orphan=1\n')).toThrow(/line 1/);
  });
});

const analyze = systemdAnalyze();

function verify(path: string): { status: number | null; stderr: string } {
  const result = spawnSync(analyze ?? 'systemd-analyze', ['verify', '--man=no', path], {
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr };
}

describe('systemd-analyze verify', () => {
  it(
    analyze === undefined
      ? 'is not installed here: every unit still parses, with only known keys'
      : 'accepts every unit without a warning (and does warn on a mistyped key)',
    () => {
      if (analyze === undefined) {
        for (const { file } of UNITS) expect(unknownKeys(read(file).unit)).toEqual([]);
        return;
      }
      // A verifier that accepts anything would make a clean run meaningless.
      const dir = mkdtempSync(join(tmpdir(), 'komrade-units-'));
      try {
        const bad = join(dir, 'komrade-bad.service');
        writeFileSync(bad, '[Service]\nExecStart=/usr/bin/node x.js\nProtectSytem=strict\n');
        expect(verify(bad).stderr).toContain('ProtectSytem');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      for (const { file } of UNITS) {
        const result = verify(join(UNITS_DIR, file));
        expect(result.stderr, file).toBe('');
        expect(result.status, file).toBe(0);
      }
    },
  );
});
