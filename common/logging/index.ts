/** @module Logging: structured, content-free logs. */
export {
  createJsonLogger,
  silentLogger,
  type JsonLoggerOptions,
  type LogFields,
  type LogLevel,
  type Logger,
} from './logger.js';
