/**
 * The `komrade-discord` config: the example file loads, unknown keys and bad values are refused
 * naming the field (never the value), and secrets come from the environment or a file only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDiscordConfig } from '../../adapters/discord/config.js';
import { isKomradeError } from '../../common/errors/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLE = join(ROOT, 'config', 'discord.example.yaml');
const dir = mkdtempSync(join(tmpdir(), 'komrade-discord-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB';
const MASTER_KEY = 'ab'.repeat(32);
const ENV = { KOMRADE_DISCORD_TOKEN: TOKEN, KOMRADE_DISCORD_MASTER_KEY: MASTER_KEY };
const REQUIRED =
  'operator:\n  url: http://127.0.0.1:8470\nstore:\n  dataDir: /var/lib/komrade-discord\n';
const ONION = `http://${'c'.repeat(55)}d.onion`;

let files = 0;
/** Writes `text` to a new file in the test folder (mode 0600) and returns its path. */
function fileWith(text: string, name = `f${++files}`): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** The config at `yaml` must be refused: its message. */
function refusal(yaml: string, env: NodeJS.ProcessEnv = ENV): string {
  try {
    loadDiscordConfig(fileWith(yaml, 'discord.yaml'), env);
  } catch (error) {
    expect(isKomradeError(error, 'CONFIG_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('config was accepted');
}

describe('Discord config', () => {
  it('loads the example file, which spells out every default', () => {
    const example = loadDiscordConfig(EXAMPLE, ENV);
    expect(example.config).toEqual(loadDiscordConfig(fileWith(REQUIRED), ENV).config);
    expect(example.config).toEqual({
      discord: {
        token: { env: 'KOMRADE_DISCORD_TOKEN' },
        apiRoot: 'https://discord.com/api',
        commandGuilds: [],
      },
      operator: { url: 'http://127.0.0.1:8470' },
      masterKey: { env: 'KOMRADE_DISCORD_MASTER_KEY' },
      redis: {
        host: '127.0.0.1',
        port: 6379,
        db: 0,
        password: { env: 'KOMRADE_REDIS_PASSWORD' },
        queuePrefix: 'komrade-discord',
      },
      store: { dataDir: '/var/lib/komrade-discord' },
      mail: { pollIntervalSeconds: 30, waitGroupSize: 1000 },
      monitor: { everyMinutes: 60 },
      log: { level: 'info' },
    });
    expect(example.secrets).toEqual({
      token: TOKEN,
      masterKey: MASTER_KEY,
      redisPassword: undefined,
    });
    expect(Object.isFrozen(example.config.redis)).toBe(true);
  });

  it('takes servers for the commands and a Tor SOCKS port', () => {
    const { config } = loadDiscordConfig(
      fileWith(
        `${REQUIRED}discord:\n  commandGuilds: ['123456789012345678']\ntor:\n  socksPort: 9150\n`,
      ),
      ENV,
    );
    expect(config.discord.commandGuilds).toEqual(['123456789012345678']);
    expect(config.tor).toEqual({ socksHost: '127.0.0.1', socksPort: 9150 });
  });

  it('refuses an onion Operator without a tor section, naming the field and the fix', () => {
    const yaml = `operator:\n  url: ${ONION}\nstore:\n  dataDir: /d\n`;
    const message = refusal(yaml);
    expect(message).toContain('discord.yaml:2:8: operator.url: is an onion address');
    expect(message).toContain('add a tor section (tor.socksPort, default 9050)');
    expect(message).toContain('apt-get install tor');
    expect(message).not.toContain(ONION);

    const { config } = loadDiscordConfig(fileWith(`${yaml}tor:\n  socksPort: 9050\n`), ENV);
    expect(config.operator.url).toBe(ONION);
    expect(config.tor).toEqual({ socksHost: '127.0.0.1', socksPort: 9050 });

    const elsewhere = refusal(`${yaml}tor:\n  socksHost: tor-box.lan\n`);
    expect(elsewhere).toContain('tor.socksHost: must be this machine');
    expect(elsewhere).not.toContain('tor-box');
  });

  it('refuses an Operator that is neither onion nor on this machine, without echoing it', () => {
    for (const url of ['https://komrade.example.org', 'http://192.0.2.7:8470']) {
      const message = refusal(`operator:\n  url: ${url}\nstore:\n  dataDir: /d\n`);
      expect(message, url).toContain('operator.url: must be an onion address');
      expect(message, url).not.toContain(url.replace(/^https?:\/\//, ''));
    }
  });

  it('refuses an unknown key, naming it, its section and its line', () => {
    const message = refusal(`${REQUIRED}discord:\n  comandGuilds: []\n`);
    expect(message).toContain('discord.yaml:6:3: discord: unknown key');
    expect(message).toContain('comandGuilds');
    expect(refusal(`${REQUIRED}bogus: true\n`)).toContain('bogus');
    expect(refusal(`${REQUIRED}redis:\n  prot: 1\n`)).toMatch(/redis: unknown key.*prot/);
  });

  it('names the field of a bad value, never the value', () => {
    const cases: [yaml: string, field: string, value: string][] = [
      [`${REQUIRED}redis:\n  port: s3cr3t-port\n`, 'redis.port', 's3cr3t-port'],
      [
        `${REQUIRED}discord:\n  commandGuilds: [guild-hunter2]\n`,
        'discord.commandGuilds.0',
        'guild-hunter2',
      ],
      [
        `operator:\n  url: not-an-url-hunter2\nstore:\n  dataDir: /d\n`,
        'operator.url',
        'not-an-url-hunter2',
      ],
      [`${REQUIRED}log:\n  level: loud-hunter2\n`, 'log.level', 'loud-hunter2'],
      [`${REQUIRED}masterKey:\n  env: lower-hunter2\n`, 'masterKey.env', 'lower-hunter2'],
      [`${REQUIRED}discord:\n  token: MTA.secret.token-hunter2\n`, 'discord.token', 'hunter2'],
    ];
    for (const [yaml, field, value] of cases) {
      const message = refusal(yaml);
      expect(message, field).toContain(`: ${field}: `);
      expect(message, field).not.toContain(value);
    }
    expect(refusal('store:\n  dataDir: /d\n')).toContain('operator');
  });

  it('reads each secret from its environment variable or from the first line of its file', () => {
    const tokenFile = fileWith(`${TOKEN}\nignored second line\n`);
    const keyFile = fileWith(`  ${MASTER_KEY}  \n`);
    const yaml = [
      REQUIRED,
      `discord:\n  token:\n    file: ${tokenFile}\n`,
      `masterKey:\n  file: ${keyFile}\n`,
      'redis:\n  password:\n    env: MY_REDIS_PASSWORD\n',
    ].join('');
    const { secrets } = loadDiscordConfig(fileWith(yaml), { MY_REDIS_PASSWORD: 'redis-pass' });
    expect(secrets).toEqual({ token: TOKEN, masterKey: MASTER_KEY, redisPassword: 'redis-pass' });

    const renamed = `${REQUIRED}discord:\n  token:\n    env: OTHER_TOKEN\n`;
    expect(
      loadDiscordConfig(fileWith(renamed), {
        ...ENV,
        KOMRADE_DISCORD_TOKEN: '',
        OTHER_TOKEN: TOKEN,
      }).secrets.token,
    ).toBe(TOKEN);
  });

  it('says which secret is missing or unreadable, never a value', () => {
    expect(refusal(REQUIRED, { KOMRADE_DISCORD_TOKEN: TOKEN })).toBe(
      'The master key is missing: set KOMRADE_DISCORD_MASTER_KEY or point to a file in the config.',
    );
    expect(refusal(REQUIRED, { KOMRADE_DISCORD_MASTER_KEY: MASTER_KEY })).toContain(
      'KOMRADE_DISCORD_TOKEN',
    );
    const wrongShape = 'not-a-discord-token-hunter2';
    const shape = refusal(REQUIRED, { ...ENV, KOMRADE_DISCORD_TOKEN: wrongShape });
    expect(shape).toContain('Developer Portal');
    expect(shape).not.toContain(wrongShape);

    const empty = fileWith('\n');
    expect(refusal(`${REQUIRED}masterKey:\n  file: ${empty}\n`)).toBe(
      `The master key file ${empty} is empty.`,
    );
    const missing = join(dir, 'no-such-file');
    expect(refusal(`${REQUIRED}masterKey:\n  file: ${missing}\n`)).toBe(
      `Cannot read the master key file ${missing}.`,
    );
    expect(refusal(`${REQUIRED}masterKey:\n  env: KEY\n  file: ${empty}\n`)).toContain(
      'give env or file, not both',
    );
  });
});
