/** @module Errors: one error type with stable codes, and the one code-to-status table. */
export {
  CLIENT_ERROR_CODES,
  OPERATOR_ERROR_CODES,
  isOperatorErrorCode,
  type ClientErrorCode,
  type ErrorCode,
  type OperatorErrorCode,
} from './error-code.js';
export { HTTP_STATUS } from './http-status.js';
export { KomradeError, isKomradeError, type KomradeErrorOptions } from './komrade-error.js';
export { err, ok, type Result } from './result.js';
