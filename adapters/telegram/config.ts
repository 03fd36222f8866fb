/**
 * The `komrade-telegram` config: a strict zod schema (the type comes from it), read once from YAML.
 * Secrets (the bot token, the master key, the Redis password) are never in the YAML: it names the
 * environment variable or the file they come from.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadYamlConfig } from '../../common/config/index.js';
import { KomradeError } from '../../common/errors/index.js';

/** Where a secret comes from: an environment variable, or a file (first line, trimmed). */
const secretSource = (defaultEnv: string) =>
  z
    .strictObject({
      env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/)
        .optional(),
      file: z.string().min(1).optional(),
    })
    .refine((s) => s.env === undefined || s.file === undefined, 'give env or file, not both')
    .default({ env: defaultEnv });

/** The config schema. Every field is documented in config/telegram.example.yaml. */
export const telegramConfigSchema = z.strictObject({
  telegram: z
    .strictObject({
      token: secretSource('KOMRADE_TELEGRAM_TOKEN'),
      apiRoot: z.url().default('https://api.telegram.org'),
      throttle: z.boolean().default(true),
    })
    .default({
      token: { env: 'KOMRADE_TELEGRAM_TOKEN' },
      apiRoot: 'https://api.telegram.org',
      throttle: true,
    }),
  operator: z.strictObject({ url: z.url() }),
  tor: z
    .strictObject({
      socksHost: z.string().min(1).default('127.0.0.1'),
      socksPort: z.number().int().min(1).max(65_535).default(9050),
    })
    .optional(),
  masterKey: secretSource('KOMRADE_TELEGRAM_MASTER_KEY'),
  redis: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(1).max(65_535).default(6379),
      db: z.number().int().min(0).max(15).default(0),
      password: secretSource('KOMRADE_REDIS_PASSWORD'),
      queuePrefix: z
        .string()
        .regex(/^[a-z0-9-]{1,64}$/)
        .default('komrade-telegram'),
    })
    .default({
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      password: { env: 'KOMRADE_REDIS_PASSWORD' },
      queuePrefix: 'komrade-telegram',
    }),
  store: z.strictObject({ dataDir: z.string().min(1) }),
  mail: z
    .strictObject({ pollIntervalSeconds: z.number().min(0.1).max(3600).default(30) })
    .default({ pollIntervalSeconds: 30 }),
  log: z
    .strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') })
    .default({ level: 'info' }),
});

/** The validated config. */
export type TelegramConfig = z.output<typeof telegramConfigSchema>;

/** The secrets, read once at startup. */
export interface TelegramSecrets {
  readonly token: string;
  readonly masterKey: string;
  readonly redisPassword: string | undefined;
}

type Source = TelegramConfig['masterKey'];

function readSecret(
  source: Source,
  env: NodeJS.ProcessEnv,
  what: string,
  required: boolean,
): string | undefined {
  if (source.file !== undefined) {
    try {
      const value = readFileSync(source.file, 'utf8').split('\n')[0]?.trim() ?? '';
      if (value.length > 0) return value;
    } catch (cause) {
      throw new KomradeError('CONFIG_INVALID', `Cannot read the ${what} file ${source.file}.`, {
        cause,
      });
    }
    throw new KomradeError('CONFIG_INVALID', `The ${what} file ${source.file} is empty.`);
  }
  const value = source.env === undefined ? undefined : env[source.env];
  if (value !== undefined && value.length > 0) return value;
  if (!required) return undefined;
  throw new KomradeError(
    'CONFIG_INVALID',
    `The ${what} is missing: set ${source.env ?? 'the variable'} or point to a file in the config.`,
  );
}

/**
 * Loads the YAML config and the secrets it points to.
 * @throws `CONFIG_INVALID` naming the file, line and field (never a value)
 */
export function loadTelegramConfig(
  path: string,
  env: NodeJS.ProcessEnv,
): { config: TelegramConfig; secrets: TelegramSecrets } {
  const config = loadYamlConfig(path, telegramConfigSchema);
  const token = readSecret(config.telegram.token, env, 'bot token', true) ?? '';
  if (!/^\d+:[A-Za-z0-9_-]+$/.test(token)) {
    throw new KomradeError(
      'CONFIG_INVALID',
      'The bot token does not look like one from @BotFather (digits, a colon, then letters).',
    );
  }
  return {
    config,
    secrets: {
      token,
      masterKey: readSecret(config.masterKey, env, 'master key', true) ?? '',
      redisPassword: readSecret(config.redis.password, env, 'Redis password', false),
    },
  };
}
