/** The rule that a client talks only to `.onion` addresses (through Tor) or to this machine. */
import { TorError } from './tor-error.js';

/** What kind of destination a URL passed by {@link assertOnionOrLoopback} is. */
export type AllowedDestination =
  { readonly kind: 'onion'; readonly url: URL } | { readonly kind: 'loopback'; readonly url: URL };

const ONION_HOST = /^(?:[a-z0-9-]+\.)*[a-z2-7]{56}\.onion$/;
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/;

/** True for a v3 `.onion` hostname (optionally with subdomains). */
export function isOnionHostname(hostname: string): boolean {
  return ONION_HOST.test(hostname.toLowerCase());
}

/** True for `localhost`, `127.0.0.0/8` and `::1`. */
export function isLoopbackHostname(hostname: string): boolean {
  return LOOPBACK_HOST.test(hostname.toLowerCase());
}

/**
 * Refuses any destination that is neither a `.onion` address nor loopback, and a `.onion` address
 * when no Tor SOCKS proxy is configured (it would otherwise go to the system resolver and leak).
 *
 * @param url - the destination, e.g. the configured Operator URL.
 * @param options - `socksConfigured`: whether a Tor SOCKS proxy is available to this client.
 * @returns the parsed URL and whether it is an onion or loopback destination.
 * @throws TOR_UNAVAILABLE (non-transient) for any other destination or a missing proxy.
 * @example
 * ```ts
 * const { kind } = assertOnionOrLoopback(config.operatorUrl, { socksConfigured: socksPort !== undefined });
 * ```
 */
export function assertOnionOrLoopback(
  url: string | URL,
  options: { readonly socksConfigured: boolean },
): AllowedDestination {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TorError('the destination is not a valid URL', { transient: false, cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TorError('the destination must be an http(s) URL', { transient: false });
  }
  const host = parsed.hostname;
  if (host.toLowerCase().endsWith('.onion')) {
    if (!isOnionHostname(host)) {
      throw new TorError('the destination is not a valid v3 .onion address', { transient: false });
    }
    if (!options.socksConfigured) {
      throw new TorError(
        'an .onion destination needs a Tor SOCKS proxy: start tor or configure its SOCKS port',
        { transient: false },
      );
    }
    return { kind: 'onion', url: parsed };
  }
  if (isLoopbackHostname(host)) return { kind: 'loopback', url: parsed };
  throw new TorError(
    'refusing a destination that is neither a .onion address nor loopback: Komrade reaches its Operator only through Tor',
    { transient: false },
  );
}
