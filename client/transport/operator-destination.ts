/** The rule for where an Operator may be: a `.onion` address (through Tor) or this machine. */
import { KomradeError } from '../../common/errors/index.js';
import { assertOnionOrLoopback, isLoopbackHostname } from '../../tor/index.js';
import type { SocksAddress } from '../local-store/local-store.js';

/** An Operator URL that passed {@link checkOperatorUrl}. */
export interface OperatorDestination {
  /** `onion`: reached only through Tor; `loopback`: this machine, for development and tests. */
  readonly kind: 'onion' | 'loopback';
  /** The URL as it is stored and shown: origin and path, without a trailing slash. */
  readonly url: string;
}

const NOT_ALLOWED =
  'Komrade reaches its Operator only as a Tor onion service (http://….onion), or on this machine ' +
  '(http://127.0.0.1:PORT, for development and tests)';

/**
 * Checks an Operator URL without connecting anywhere: an http(s) URL whose host is a v3 `.onion`
 * address or loopback. Every other host is refused, so nothing is ever sent to one.
 *
 * @param url - the Operator URL as the komrade typed it
 * @returns the destination's kind and normalized URL
 * @throws `CONFIG_INVALID` for anything else (the message says what is allowed)
 * @example
 * ```ts
 * checkOperatorUrl('http://127.0.0.1:8080'); // { kind: 'loopback', url: 'http://127.0.0.1:8080' }
 * ```
 */
export function checkOperatorUrl(url: string): OperatorDestination {
  let parsed: URL;
  try {
    // `socksConfigured: true`: only the shape is checked here; the proxy is checked on use.
    parsed = assertOnionOrLoopback(url, { socksConfigured: true }).url;
  } catch (cause) {
    const shown = safeUrlForMessage(url);
    throw new KomradeError('CONFIG_INVALID', `${NOT_ALLOWED}; refusing ${shown}.`, { cause });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new KomradeError(
      'CONFIG_INVALID',
      'The Operator URL may not contain a user or password.',
    );
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new KomradeError('CONFIG_INVALID', 'The Operator URL may not have a query or fragment.');
  }
  return {
    kind: parsed.hostname.endsWith('.onion') ? 'onion' : 'loopback',
    url: parsed.origin + parsed.pathname.replace(/\/$/, ''),
  };
}

/**
 * Parses a SOCKS address `host:port` (`[::1]:9050` for IPv6). The host must be loopback: the
 * onion name travels to the SOCKS port unencrypted, so a proxy elsewhere would see it.
 *
 * @throws `CONFIG_INVALID` for another shape, a port outside 1–65535, or a non-loopback host
 * @example
 * ```ts
 * parseSocksAddress('127.0.0.1:9050'); // { host: '127.0.0.1', port: 9050 }
 * ```
 */
export function parseSocksAddress(text: string): SocksAddress {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new KomradeError(
      'CONFIG_INVALID',
      'The Tor SOCKS address must be HOST:PORT, e.g. 127.0.0.1:9050.',
    );
  }
  checkSocksAddress({ host, port });
  return { host, port };
}

/**
 * Refuses a SOCKS address that is not on this machine.
 * @throws `CONFIG_INVALID`
 */
export function checkSocksAddress(address: SocksAddress): void {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  if (!isLoopbackHostname(host)) {
    throw new KomradeError(
      'CONFIG_INVALID',
      'The Tor SOCKS port must be on this machine (127.0.0.1, localhost or ::1): the onion address would reach any other host unencrypted.',
    );
  }
}

/** The URL's scheme and host only (no path, no credentials), for an error message. */
function safeUrlForMessage(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'a URL that does not parse';
  }
}
