/** Reads a request body up to a limit, refusing (not buffering) anything larger. */
import type { IncomingMessage } from 'node:http';
import { KomradeError } from '../../common/errors/index.js';

const tooLarge = (max: number) =>
  new KomradeError('PAYLOAD_TOO_LARGE', `Request body is larger than ${max} bytes.`);

/**
 * Collects the body. Stops reading the moment it passes `max`: the caller answers 413 and closes
 * the connection instead of draining the rest.
 * @throws KomradeError `PAYLOAD_TOO_LARGE`, `BAD_REQUEST` (body cut short)
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) return Promise.reject(tooLarge(max));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        req.pause();
        reject(tooLarge(max));
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
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
