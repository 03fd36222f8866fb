/**
 * The `komrade-telegram` config: a strict zod schema (the type comes from it), read once from YAML.
 * Its `telegram` section is its own; the rest is every adapter's (see `adapterConfigShape`).
 * Secrets (the bot token, the master key, the Redis password) are never in the YAML: it names the
 * environment variable or the file they come from.
 */
import { z } from 'zod';
import {
  adapterConfigShape,
  readAdapterSecrets,
  secretSource,
  withAdapterRules,
  type AdapterSecrets,
} from '../../bridge/index.js';
import { loadYamlConfig } from '../../common/config/index.js';

/** The config schema. Every field is documented in config/telegram.example.yaml. */
export const telegramConfigSchema = withAdapterRules(
  z.strictObject({
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
    ...adapterConfigShape({
      masterKeyEnv: 'KOMRADE_TELEGRAM_MASTER_KEY',
      queuePrefix: 'komrade-telegram',
    }),
  }),
);

/** The validated config. */
export type TelegramConfig = z.output<typeof telegramConfigSchema>;

/**
 * Loads the YAML config and the secrets it points to.
 * @throws `CONFIG_INVALID` naming the file, line and field (never a value)
 */
export function loadTelegramConfig(
  path: string,
  env: NodeJS.ProcessEnv,
): { config: TelegramConfig; secrets: AdapterSecrets } {
  const config = loadYamlConfig(path, telegramConfigSchema);
  const token = {
    source: config.telegram.token,
    pattern: /^\d+:[A-Za-z0-9_-]+$/,
    refusal:
      'The bot token does not look like one from @BotFather (digits, a colon, then letters).',
  };
  return { config, secrets: readAdapterSecrets(config, token, env) };
}
