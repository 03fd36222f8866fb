/**
 * The `komrade-discord` config: a strict zod schema (the type comes from it), read once from YAML.
 * Its `discord` section is its own; the rest is every adapter's (see `adapterConfigShape`).
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

/** A Discord id (a snowflake: 17 to 20 digits). */
const snowflake = z.string().regex(/^\d{17,20}$/, 'a Discord id (17 to 20 digits)');

/** The config schema. Every field is documented in config/discord.example.yaml. */
export const discordConfigSchema = withAdapterRules(
  z.strictObject({
    discord: z
      .strictObject({
        token: secretSource('KOMRADE_DISCORD_TOKEN'),
        apiRoot: z.url().default('https://discord.com/api'),
        commandGuilds: z.array(snowflake).max(100).default([]),
      })
      .default({
        token: { env: 'KOMRADE_DISCORD_TOKEN' },
        apiRoot: 'https://discord.com/api',
        commandGuilds: [],
      }),
    ...adapterConfigShape({
      masterKeyEnv: 'KOMRADE_DISCORD_MASTER_KEY',
      queuePrefix: 'komrade-discord',
    }),
  }),
);

/** The validated config. */
export type DiscordConfig = z.output<typeof discordConfigSchema>;

/**
 * Loads the YAML config and the secrets it points to.
 * @throws `CONFIG_INVALID` naming the file, line and field (never a value)
 */
export function loadDiscordConfig(
  path: string,
  env: NodeJS.ProcessEnv,
): { config: DiscordConfig; secrets: AdapterSecrets } {
  const config = loadYamlConfig(path, discordConfigSchema);
  const token = {
    source: config.discord.token,
    // Three dot-separated base64url parts, as the Developer Portal gives it.
    pattern: /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}$/,
    refusal:
      'The bot token does not look like one from the Developer Portal (three parts joined by dots).',
  };
  return { config, secrets: readAdapterSecrets(config, token, env) };
}
