/** Loads the Operator's config once, at startup. */
import { loadYamlConfig, parseYamlConfig } from '../../common/config/index.js';
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
