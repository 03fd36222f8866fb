/** Writing JSON answers, and the one error boundary that renders every failure. */
import type { ServerResponse } from 'node:http';
import {
  HTTP_STATUS,
  isKomradeError,
  isOperatorErrorCode,
  type OperatorErrorCode,
} from '../../common/errors/index.js';
import { MethodNotAllowed } from './method-not-allowed.js';

/** A handler's successful answer. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** Writes `text` (already JSON) with its length, so keep-alive clients need no chunking. */
export function sendJson(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** What the error boundary made of a failure. */
export interface RenderedError {
  readonly status: number;
  readonly code: OperatorErrorCode;
  /** True when the failure was not a known Operator error (a bug or an I/O failure). */
  readonly unexpected: boolean;
}

/**
 * Renders `{ error: { code, message } }`. Only KomradeErrors with an Operator code keep their
 * message; anything else becomes a generic 500 so no internal detail reaches the client.
 */
export function renderError(res: ServerResponse, error: unknown): RenderedError {
  let code: OperatorErrorCode = 'INTERNAL';
  let message = 'The Operator failed to handle this request.';
  if (isKomradeError(error) && isOperatorErrorCode(error.code) && error.code !== 'INTERNAL') {
    code = error.code;
    message = error.message.slice(0, 1_000);
  }
  const status = HTTP_STATUS[code];
  if (!res.headersSent) {
    if (code === 'METHOD_NOT_ALLOWED' && error instanceof MethodNotAllowed) {
      res.setHeader('allow', error.allow);
    }
    sendJson(res, status, JSON.stringify({ error: { code, message } }));
  } else {
    res.destroy();
  }
  return { status, code, unexpected: code === 'INTERNAL' };
}
