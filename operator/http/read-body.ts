/** Reads a request body up to a size and a time limit, refusing (not buffering) anything beyond. */
import type { IncomingMessage } from 'node:http';
import { KomradeError } from '../../common/errors/index.js';

const tooLarge = (max: number) =>
  new KomradeError('PAYLOAD_TOO_LARGE', `Request body is larger than ${max} bytes.`);

/** Limits for {@link readBody}. */
export interface BodyLimits {
  /** Most bytes accepted. */
  readonly maxBytes: number;
  /** Longest the whole body may take to arrive, from the call on. */
  readonly timeoutMs: number;
}

/**
 * Collects the body. Stops reading the moment it passes `maxBytes` or `timeoutMs` runs out: the
 * caller answers 413 or 408 and closes the connection instead of draining the rest, so a client
 * trickling a body cannot hold the connection.
 * @throws KomradeError `PAYLOAD_TOO_LARGE`, `REQUEST_TIMEOUT`, `BAD_REQUEST` (body cut short)
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes: max, timeoutMs } = limits;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) return Promise.reject(tooLarge(max));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const refuse = (error: KomradeError) => {
      cleanup();
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        refuse(tooLarge(max));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks));
    };
    const onError = (cause: Error) => {
      cleanup();
      reject(new KomradeError('BAD_REQUEST', 'Request body was cut short.', { cause }));
    };
    const onClose = () => {
      if (!req.complete) onError(new Error('connection closed'));
    };
    const timer = setTimeout(() => {
      refuse(
        new KomradeError(
          'REQUEST_TIMEOUT',
          `Request body did not arrive within ${Math.round(timeoutMs / 1_000)} s.`,
        ),
      );
    }, timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
