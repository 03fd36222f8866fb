/** The one way the bridge gets a transport to its Operator: direct on loopback, Tor for onions. */
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { KomradeError } from '../../common/errors/index.js';
import { TorError, createTorDispatcher, isLoopbackHostname } from '../../tor/index.js';
import type { SocksAddress } from '../local-store/local-store.js';
import { checkOperatorUrl, checkSocksAddress } from './operator-destination.js';

/** Options for {@link createOperatorDispatcher}. */
export interface OperatorDispatcherOptions {
  /** The Operator's URL: an `.onion` address, or loopback for development and tests. */
  readonly operatorUrl: string;
  /** Tor's SOCKS port (on this machine); required for an `.onion` Operator. */
  readonly socks?: SocksAddress;
  /**
   * This identity's circuit isolation key (see `ensureCircuitIsolationKey`): the SOCKS username
   * and password, so Tor never puts two identities on one circuit.
   */
  readonly isolationKey: string;
  /**
   * How long opening one connection may take. Through Tor this covers fetching the descriptor,
   * introduction and rendezvous. @defaultValue 120000 through Tor, 15000 on loopback
   */
  readonly connectTimeoutMs?: number;
}

/**
 * Builds the undici dispatcher for one identity's Operator connections, after checking the URL:
 *
 * - an `.onion` Operator: the Tor dispatcher (socks5h: the name goes to Tor unresolved; the
 *   isolation key as SOCKS credentials; keep-alive so one identity's requests share a circuit);
 * - a loopback Operator: a direct undici `Agent` that refuses any non-loopback host;
 * - anything else: refused, before any connection or name lookup.
 *
 * Close the dispatcher when done (`await dispatcher.close()`) so the process can exit.
 *
 * @throws `CONFIG_INVALID` for a URL that is neither onion nor loopback, or a SOCKS host elsewhere;
 * `TOR_UNAVAILABLE` for an `.onion` Operator without a SOCKS port (the message says how to fix it)
 * @example
 * ```ts
 * const dispatcher = createOperatorDispatcher({
 *   operatorUrl: 'http://…onion',
 *   socks: { host: '127.0.0.1', port: 9050 },
 *   isolationKey: ensureCircuitIsolationKey(store),
 * });
 * const operator = new HttpOperatorClient({ baseUrl, dispatcher, now: Date.now });
 * ```
 */
export function createOperatorDispatcher(options: OperatorDispatcherOptions): Dispatcher {
  const destination = checkOperatorUrl(options.operatorUrl);
  if (destination.kind === 'loopback') {
    return loopbackAgent(options.connectTimeoutMs ?? 15_000);
  }
  if (options.socks === undefined) {
    throw new TorError(
      `The Operator is an onion service (${destination.url}) and no Tor SOCKS proxy is configured, ` +
        'so nothing was sent: give a running tor with --tor-socks 127.0.0.1:9050 (or ' +
        'KOMRADE_TOR_SOCKS), or install tor so komrade can start its own.',
      { transient: false },
    );
  }
  checkSocksAddress(options.socks);
  return createTorDispatcher({
    socksHost: options.socks.host,
    socksPort: options.socks.port,
    isolationKey: options.isolationKey,
    ...(options.connectTimeoutMs === undefined
      ? {}
      : { connectTimeoutMs: options.connectTimeoutMs }),
  });
}

/** A direct Agent that connects to this machine only, whatever URL a caller hands it. */
function loopbackAgent(timeoutMs: number): Agent {
  const connect = buildConnector({ timeout: timeoutMs });
  return new Agent({
    connect: (connectOptions, callback) => {
      if (!isLoopbackHostname(connectOptions.hostname)) {
        callback(
          new KomradeError(
            'CONFIG_INVALID',
            'Refusing to connect directly to a host that is not loopback: an onion Operator needs the Tor transport.',
          ),
          null,
        );
        return;
      }
      connect(connectOptions, callback);
    },
  });
}
