/**
 * The agent itself: holds one home's derived keystore key in memory, answers on its private
 * socket, and wipes the key and exits when its time is up or on `stop`.
 */
import { chmodSync } from 'node:fs';
import net from 'node:net';
import { AGENT_KEY_BYTES, OP, REPLY, requestLength } from './agent-protocol.js';

/** How long an agent waits for its first key: `unlock` loads it right after the agent answers. */
const KEYLESS_MS = 30_000;

/** How long one connection may take to send its request. */
const REQUEST_TIMEOUT_MS = 2_000;

/**
 * Listens on `socket` until stopped. The caller has made the socket's folder private (0700).
 * @param exit - ends the process once the key is wiped and the socket closed
 */
export function serveAgent(socket: string, exit: (code: number) => void): void {
  let key: Uint8Array | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;

  const stop = () => {
    if (stopping) return;
    stopping = true;
    key?.fill(0);
    key = undefined;
    if (timer !== undefined) clearTimeout(timer);
    // close() removes the socket file; exit even if a connection lingers.
    server.close(() => {
      exit(0);
    });
    setImmediate(() => {
      exit(0);
    });
  };
  const expireIn = (ms: number) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(stop, ms);
  };

  const answer = (request: Buffer): Uint8Array => {
    switch (request[0]) {
      case OP.ping:
        return Uint8Array.of(REPLY.ok);
      case OP.key: {
        if (key === undefined) return Uint8Array.of(REPLY.none);
        const reply = new Uint8Array(1 + AGENT_KEY_BYTES);
        reply[0] = REPLY.ok;
        reply.set(key, 1);
        return reply;
      }
      case OP.load: {
        key?.fill(0);
        key = Uint8Array.from(request.subarray(5));
        // A fixed deadline from the last unlock: using the agent does not extend it.
        expireIn(request.readUInt32BE(1) * 1000);
        return Uint8Array.of(REPLY.ok);
      }
      case OP.stop:
        return Uint8Array.of(REPLY.ok);
      case undefined:
      default:
        return Uint8Array.of(REPLY.none);
    }
  };

  const server = net.createServer((connection) => {
    let received = Buffer.alloc(0);
    connection.setTimeout(REQUEST_TIMEOUT_MS, () => connection.destroy());
    connection.on('error', () => undefined);
    connection.on('data', (chunk: Buffer) => {
      const previous = received;
      received = Buffer.concat([received, chunk]);
      previous.fill(0);
      chunk.fill(0);
      const op = received[0];
      const length = op === undefined ? undefined : requestLength(op);
      if (length === undefined || received.length > length) {
        received.fill(0);
        connection.destroy();
        return;
      }
      if (received.length < length) return;
      const reply = answer(received);
      received.fill(0);
      connection.end(reply, () => {
        reply.fill(0);
        if (op === OP.stop) stop();
      });
    });
  });
  server.on('error', () => {
    // Another agent took the socket meanwhile, or the folder went away: leave it be.
    key?.fill(0);
    exit(1);
  });
  server.listen(socket, () => {
    chmodSync(socket, 0o600);
    expireIn(KEYLESS_MS);
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
}
