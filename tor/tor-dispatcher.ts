/** An undici dispatcher that sends every connection through Tor's SOCKS port, one circuit per key. */
import tls from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { isOnionHostname } from './destination-guard.js';
import { socks5Connect } from './socks5-connect.js';
import { TorError } from './tor-error.js';

/** Options for {@link createTorDispatcher}. */
export interface TorDispatcherOptions {
  /** @defaultValue `'127.0.0.1'` */
  readonly socksHost?: string;
  readonly socksPort: number;
  /**
   * Per-identity key sent as the SOCKS username and password. With Tor's IsolateSOCKSAuth (the
   * default), connections with different keys never share a circuit. Keep it out of logs: it links
   * the connections of one identity.
   */
  readonly isolationKey: string;
  /** How long opening one connection (descriptor, introduction, rendezvous) may take. @defaultValue 120000 */
  readonly connectTimeoutMs?: number;
  /** How long an idle connection is kept for reuse. @defaultValue 60000 */
  readonly keepAliveTimeoutMs?: number;
  /** Connections per `.onion` origin. @defaultValue 4 */
  readonly connectionsPerOrigin?: number;
}

/**
 * Creates an undici `Dispatcher` for `.onion` origins: the name goes to Tor unresolved (socks5h),
 * the isolation key becomes the SOCKS credentials, and connections are kept alive so requests
 * reuse one circuit. Non-onion destinations are refused before anything is sent.
 *
 * We use our own SOCKS5 client rather than undici's experimental `Socks5ProxyAgent`, whose CONNECT
 * timeout is fixed at 5 s (too short for an onion rendezvous) and which hides Tor's extended
 * reply codes that tell "not published yet" from "bad address".
 *
 * @example
 * ```ts
 * const dispatcher = createTorDispatcher({ socksPort: tor.socksPort, isolationKey: identityId });
 * const res = await request(`http://${onion}/v1/health`, { dispatcher });
 * ```
 */
export function createTorDispatcher(options: TorDispatcherOptions): Dispatcher {
  const proxyHost = options.socksHost ?? '127.0.0.1';
  const timeoutMs = options.connectTimeoutMs ?? 120_000;
  return new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000,
    keepAliveMaxTimeout: options.keepAliveTimeoutMs ?? 60_000,
    connections: options.connectionsPerOrigin ?? 4,
    connect: (connectOptions, callback) => {
      const host = connectOptions.hostname;
      if (!isOnionHostname(host)) {
        callback(
          new TorError('the Tor dispatcher only connects to .onion addresses', {
            transient: false,
          }),
          null,
        );
        return;
      }
      const https = connectOptions.protocol === 'https:';
      const port = connectOptions.port === '' ? (https ? 443 : 80) : Number(connectOptions.port);
      socks5Connect({
        proxyHost,
        proxyPort: options.socksPort,
        isolationKey: options.isolationKey,
        host,
        port,
        timeoutMs,
      }).then(
        (socket) => {
          if (!https) {
            callback(null, socket);
            return;
          }
          const secure = tls.connect({ socket, servername: connectOptions.servername ?? host });
          secure.once('secureConnect', () => {
            callback(null, secure);
          });
          secure.once('error', (error: Error) => {
            callback(error, null);
          });
        },
        (error: unknown) => {
          callback(error instanceof Error ? error : new Error(String(error)), null);
        },
      );
    },
  });
}
