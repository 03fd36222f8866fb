/**
 * A minimal SOCKS5 CONNECT client (RFC 1928 with RFC 1929 username/password) for Tor's SOCKS port.
 * The destination always goes out as a domain name, so the proxy resolves it (socks5h).
 */
import net from 'node:net';
import { isTransientSocksReply, TorError } from './tor-error.js';

/** Options for {@link socks5Connect}. */
export interface Socks5ConnectOptions {
  readonly proxyHost: string;
  readonly proxyPort: number;
  /** Sent as the SOCKS username and password: Tor's IsolateSOCKSAuth keys circuits on it. */
  readonly isolationKey?: string;
  /** Destination name, passed to the proxy unresolved. */
  readonly host: string;
  readonly port: number;
  /** How long the whole negotiation may take, rendezvous included. @defaultValue 120000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const REPLY_TEXT: Readonly<Record<number, string>> = {
  0x01: 'general failure',
  0x02: 'connection not allowed',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
  0xf0: 'onion service descriptor not found',
  0xf1: 'onion service descriptor is invalid',
  0xf2: 'onion service introduction failed',
  0xf3: 'onion service rendezvous failed',
  0xf4: 'onion service needs client authorization',
  0xf5: 'onion service client authorization is wrong',
  0xf6: 'onion address is invalid',
  0xf7: 'onion service introduction timed out',
};

/** A readable name for a SOCKS5 reply code (Tor's extended codes included). */
export function describeSocksReply(reply: number): string {
  return REPLY_TEXT[reply] ?? `reply 0x${reply.toString(16)}`;
}

/**
 * Opens a TCP connection to the proxy and negotiates a CONNECT to `host:port`.
 *
 * @returns the socket, ready to carry the application protocol.
 * @throws TOR_UNAVAILABLE (a {@link TorError}) with `socksReply` when the proxy refuses, transient
 * or not according to the reply; transient on a timeout.
 */
export function socks5Connect(options: Socks5ConnectOptions): Promise<net.Socket> {
  const host = Buffer.from(options.host, 'utf8');
  const user = Buffer.from(options.isolationKey ?? '', 'utf8');
  if (host.length === 0 || host.length > 255 || user.length > 255) {
    return Promise.reject(
      new TorError('SOCKS destination or isolation key too long', { transient: false }),
    );
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.proxyHost, port: options.proxyPort });
    let buffer = Buffer.alloc(0);
    let stage: 'method' | 'auth' | 'connect' = 'method';
    let settled = false;

    const fail = (error: TorError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => {
      fail(new TorError('SOCKS connection aborted', { transient: false }));
    };
    const timer = setTimeout(() => {
      fail(new TorError('timed out waiting for Tor to open the connection', { transient: true }));
    }, options.timeoutMs ?? 120_000);
    const cleanup = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (cause: Error): void => {
      const code = (cause as NodeJS.ErrnoException).code;
      fail(
        new TorError(
          code === 'ECONNREFUSED'
            ? 'no Tor SOCKS proxy is listening on the configured port'
            : 'the Tor SOCKS connection failed',
          { transient: code !== 'ECONNREFUSED', cause },
        ),
      );
    };
    const onClose = (): void => {
      fail(new TorError('Tor closed the SOCKS connection during negotiation', { transient: true }));
    };
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        step();
      } catch (error) {
        fail(
          error instanceof TorError ? error : new TorError('bad SOCKS reply', { transient: false }),
        );
      }
    };

    const sendConnect = (): void => {
      stage = 'connect';
      const port = Buffer.alloc(2);
      port.writeUInt16BE(options.port);
      socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00, 0x03, host.length]), host, port]));
    };

    const step = (): void => {
      if (stage === 'method') {
        if (buffer.length < 2) return;
        const [version, method] = buffer;
        buffer = buffer.subarray(2);
        if (version !== 0x05)
          throw new TorError('the SOCKS proxy is not SOCKS5', { transient: false });
        if (method === 0x02) {
          stage = 'auth';
          // RFC 1929; Tor isolates on the pair, so the key goes in both fields.
          socket.write(
            Buffer.concat([
              Buffer.from([0x01, user.length]),
              user,
              Buffer.from([user.length]),
              user,
            ]),
          );
        } else if (method === 0x00) {
          sendConnect();
        } else {
          throw new TorError('the SOCKS proxy accepts none of our auth methods', {
            transient: false,
          });
        }
      }
      if (stage === 'auth') {
        if (buffer.length < 2) return;
        const status = buffer[1];
        buffer = buffer.subarray(2);
        if (status !== 0x00)
          throw new TorError('the SOCKS proxy refused the isolation key', { transient: false });
        sendConnect();
      }
      if (stage === 'connect') {
        if (buffer.length < 5) return;
        const reply = buffer[1] ?? 0xff;
        const atyp = buffer[3];
        const addressLength =
          atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : atyp === 0x03 ? 1 + (buffer[4] ?? 0) : -1;
        if (reply === 0x00 && addressLength < 0) {
          throw new TorError('bad SOCKS address type in reply', { transient: false });
        }
        const total = 4 + Math.max(addressLength, 0) + 2;
        // Tor may close right after a failure reply without a complete bound address.
        if (reply !== 0x00) {
          throw new TorError(`Tor could not connect: ${describeSocksReply(reply)}`, {
            transient: isTransientSocksReply(reply),
            socksReply: reply,
          });
        }
        if (buffer.length < total) return;
        const rest = buffer.subarray(total);
        settled = true;
        cleanup();
        // Hold further bytes in the stream's buffer until the HTTP client attaches its reader.
        socket.pause();
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
      }
    };

    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted === true) {
      onAbort();
      return;
    }
    socket.once('connect', () => {
      // Offer username/password only with a key, so a keyless caller still works on NO_AUTH.
      socket.write(
        user.length > 0 ? Buffer.from([0x05, 0x01, 0x02]) : Buffer.from([0x05, 0x01, 0x00]),
      );
    });
  });
}
