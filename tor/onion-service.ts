/** Building ADD_ONION commands and reading their replies (pure; the socket side is in TorControl). */
import { TorError } from './tor-error.js';
import type { ControlReply } from './control-reply.js';

/** One `Port=` mapping: the onion's virtual port and the local socket Tor forwards it to. */
export interface OnionPortMapping {
  /** The port clients connect to on the `.onion` address. @defaultValue 80 */
  readonly virtualPort?: number;
  /** The local port of the server being published. */
  readonly targetPort: number;
  /** The local host of the server. @defaultValue `'127.0.0.1'` */
  readonly targetHost?: string;
}

/** Options for {@link TorControl.addOnion}. */
export interface AddOnionOptions {
  /**
   * The service's secret key as Tor prints it, `ED25519-V3:<base64>`, to republish a persisted
   * address. Omit to have Tor create one (returned once, in {@link AddOnionResult.privateKey}).
   */
  readonly privateKey?: string;
  /** At least one port mapping, e.g. `{ targetPort: 8080 }` for `Port=80,127.0.0.1:8080`. */
  readonly ports: readonly OnionPortMapping[];
  /** Keep the service after this control connection closes (`Flags=Detach`). @defaultValue false */
  readonly detach?: boolean;
  /**
   * Ask for onion-service proof-of-work DoS defence (`PoWDefensesEnabled=1`) when the tor version
   * supports it; older tors publish without it. @defaultValue true
   */
  readonly powDefenses?: boolean;
  /**
   * Resolve only once tor has uploaded the descriptor to an onion directory (`true`: within 120 s).
   * @defaultValue false
   */
  readonly waitForPublication?: boolean | { readonly timeoutMs: number };
  /** Close the circuit after this many concurrent streams (`MaxStreams=`). */
  readonly maxStreams?: number;
}

/** What ADD_ONION answered. */
export interface AddOnionResult {
  /** The 56-character v3 service id (the address without `.onion`). */
  readonly serviceId: string;
  /** `<serviceId>.onion`. */
  readonly hostname: string;
  /** The new key, `ED25519-V3:<base64>`, only when none was given: persist it, never log it. */
  readonly privateKey?: string;
  /** Whether PoW defences were requested and accepted. */
  readonly powDefenses: boolean;
}

/** The first tor version whose ADD_ONION accepts `PoWDefensesEnabled=` (0.4.9.1-alpha). */
export const POW_ADD_ONION_MIN_VERSION: readonly [number, number, number, number] = [0, 4, 9, 1];

// 64 bytes of expanded ed25519 secret key in base64: 86 characters and `==`.
const KEY_BLOB = /^ED25519-V3:[A-Za-z0-9+/]{86}(?:==)?$/;
const TARGET_HOST = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\]|localhost)$/;
const SERVICE_ID = /^[a-z2-7]{56}$/;

/** True when a control-protocol `VERSION`/`GETINFO version` string is at least `minimum`. */
export function torVersionAtLeast(
  version: string,
  minimum: readonly [number, number, number, number],
): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (match === null) return false;
  const parts = [match[1], match[2], match[3], match[4] ?? '0'].map(Number);
  for (let i = 0; i < 4; i++) {
    const have = parts[i] ?? 0;
    const want = minimum[i] ?? 0;
    if (have !== want) return have > want;
  }
  return true;
}

/**
 * Builds the ADD_ONION command line. Every argument is validated, so nothing the caller passes can
 * smuggle a second command or a torrc option.
 *
 * @throws TOR_UNAVAILABLE (a {@link TorError}) on a malformed key or port mapping.
 */
export function buildAddOnionCommand(options: AddOnionOptions, withPow: boolean): string {
  if (options.ports.length === 0) throw badArgument('ADD_ONION needs at least one port mapping');
  const key = options.privateKey ?? 'NEW:ED25519-V3';
  if (options.privateKey !== undefined && !KEY_BLOB.test(options.privateKey)) {
    throw badArgument('the onion key is not an ED25519-V3 key blob');
  }
  const args = [key];
  if (options.detach === true) args.push('Flags=Detach');
  if (options.maxStreams !== undefined) {
    if (!isPort(options.maxStreams)) throw badArgument('MaxStreams must be 1–65535');
    args.push(`MaxStreams=${options.maxStreams}`);
  }
  if (withPow) args.push('PoWDefensesEnabled=1');
  for (const mapping of options.ports) {
    const virtual = mapping.virtualPort ?? 80;
    const host = mapping.targetHost ?? '127.0.0.1';
    if (!isPort(virtual) || !isPort(mapping.targetPort) || !TARGET_HOST.test(host)) {
      throw badArgument('an onion port mapping is not a port and a loopback/IP host');
    }
    args.push(`Port=${virtual},${host}:${mapping.targetPort}`);
  }
  return `ADD_ONION ${args.join(' ')}`;
}

/** Reads `ServiceID=` and `PrivateKey=` from an ADD_ONION reply. */
export function parseAddOnionReply(reply: ControlReply): {
  serviceId: string;
  privateKey?: string;
} {
  let serviceId: string | undefined;
  let privateKey: string | undefined;
  for (const line of reply.lines) {
    if (line.text.startsWith('ServiceID=')) serviceId = line.text.slice('ServiceID='.length);
    if (line.text.startsWith('PrivateKey=')) privateKey = line.text.slice('PrivateKey='.length);
  }
  if (serviceId === undefined || !SERVICE_ID.test(serviceId)) {
    throw new TorError('tor answered ADD_ONION without a v3 service id', { transient: false });
  }
  return privateKey === undefined ? { serviceId } : { serviceId, privateKey };
}

/** Checks a service id (with or without `.onion`) before it goes into DEL_ONION. */
export function normalizeServiceId(serviceIdOrHost: string): string {
  const id = serviceIdOrHost.toLowerCase().replace(/\.onion$/, '');
  if (!SERVICE_ID.test(id)) throw badArgument('not a v3 onion service id');
  return id;
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

function badArgument(message: string): TorError {
  return new TorError(message, { transient: false });
}
