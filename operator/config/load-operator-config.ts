/** Loads the Operator's config once, at startup. */
import { loadYamlConfig, parseYamlConfig } from '../../common/config/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { operatorConfigSchema, type OperatorConfig } from './operator-config.js';

/**
 * Reads and validates a config file; with no path, the defaults.
 * @throws KomradeError `CONFIG_INVALID` naming file, line and field, never the value
 */
export function loadOperatorConfig(path?: string): OperatorConfig {
  return path === undefined
    ? parseYamlConfig('{}', operatorConfigSchema, '(defaults)')
    : loadYamlConfig(path, operatorConfigSchema);
}

/**
 * Parses config text (tests, and callers that hold the YAML already).
 * @throws KomradeError `CONFIG_INVALID`
 */
export function parseOperatorConfig(text: string, source = '(inline)'): OperatorConfig {
  return parseYamlConfig(text, operatorConfigSchema, source);
}

/**
 * The PostgreSQL connection string for a `postgres` store, read from the environment variable the
 * config names (never from the file: it may carry a password).
 * @throws KomradeError `CONFIG_INVALID` naming the variable (never its value) when it is unset or
 * empty, or does not look like a `postgres://` or `postgresql://` URL
 */
export function databaseUrlFrom(
  store: Pick<OperatorConfig['store'], 'databaseUrlEnv'>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const name = store.databaseUrlEnv;
  const value = env[name]?.trim() ?? '';
  if (value === '') {
    throw new KomradeError(
      'CONFIG_INVALID',
      `store.kind is postgres, but the environment variable ${name} is not set; put the database's connection string (postgresql://…) in it.`,
    );
  }
  if (!/^postgres(ql)?:\/\//.test(value)) {
    throw new KomradeError(
      'CONFIG_INVALID',
      `The environment variable ${name} must hold a postgresql:// connection string.`,
    );
  }
  return value;
}
