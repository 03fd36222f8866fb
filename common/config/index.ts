/** @module Config: YAML loaded and validated once at the edge. */
export { deepFreeze } from './deep-freeze.js';
export { loadYamlConfig, parseYamlConfig } from './load-yaml-config.js';
