/** Reading an adapter's secrets once at startup, from where its config says they are. */
import { readFileSync } from 'node:fs';
import { KomradeError } from '../../common/errors/index.js';
import type { AdapterConfig, SecretSource } from './adapter-config.js';

/** An adapter's secrets. */
export interface AdapterSecrets {
  /** The chat platform's bot token. */
  readonly token: string;
  readonly masterKey: string;
  readonly redisPassword: string | undefined;
}

/** How an adapter's bot token is read and checked. */
export interface BotTokenRule {
  readonly source: SecretSource;
  /** The shape the platform gives tokens in; anything else is refused before connecting. */
  readonly pattern: RegExp;
  /** What to say when the token does not match (never the token). */
  readonly refusal: string;
}

/**
 * Reads one secret: the first line of its file, or its environment variable.
 * @param what - how messages name it, e.g. `master key`
 * @returns `undefined` when the variable is unset or empty
 * @throws `CONFIG_INVALID` for a file that cannot be read or is empty (the path is named, the
 * value never)
 */
function readSecret(
  source: SecretSource,
  env: NodeJS.ProcessEnv,
  what: string,
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
  return value !== undefined && value.length > 0 ? value : undefined;
}

/** {@link readSecret}, for a secret the adapter cannot start without. */
function requireSecret(source: SecretSource, env: NodeJS.ProcessEnv, what: string): string {
  const value = readSecret(source, env, what);
  if (value !== undefined) return value;
  throw new KomradeError(
    'CONFIG_INVALID',
    `The ${what} is missing: set ${source.env ?? 'the variable'} or point to a file in the config.`,
  );
}

/**
 * Reads the bot token (and checks its shape), the master key and the Redis password.
 * @throws `CONFIG_INVALID` naming what is missing or malformed, never a value
 */
export function readAdapterSecrets(
  config: AdapterConfig,
  token: BotTokenRule,
  env: NodeJS.ProcessEnv,
): AdapterSecrets {
  const tokenText = requireSecret(token.source, env, 'bot token');
  if (!token.pattern.test(tokenText)) throw new KomradeError('CONFIG_INVALID', token.refusal);
  return {
    token: tokenText,
    masterKey: requireSecret(config.masterKey, env, 'master key'),
    redisPassword: readSecret(config.redis.password, env, 'Redis password'),
  };
}
