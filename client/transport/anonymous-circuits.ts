/**
 * The circuits anonymous sends go on: a small pool of dispatchers, each with a fresh random
 * isolation key of its own, retired after a few sends or a few minutes. Never an identity's own
 * dispatcher, whose isolation key its signed requests (fetch, ack, token issuance) share.
 */
import type { Dispatcher } from 'undici';
import { randomBytes } from '../../common/crypto/index.js';
import { toBase64url } from '../../common/wire/index.js';
import type { SocksAddress } from '../local-store/local-store.js';
import { createOperatorDispatcher } from './create-operator-dispatcher.js';

/**
 * Circuits kept open at once. A few, so consecutive sends (a bot mixes its users' sends) land on
 * different circuits, picked at random; not many, since each new onion circuit costs Tor a
 * rendezvous (seconds).
 */
export const ANONYMOUS_CIRCUITS = 3;
/** Sends one circuit carries before it is retired: no circuit carries a long run of letters. */
export const ANONYMOUS_SENDS_PER_CIRCUIT = 4;
/** Age after which a circuit is retired, whatever it carried (3 minutes). */
export const ANONYMOUS_CIRCUIT_MAX_AGE_MS = 180_000;

/** Where anonymous sends get their dispatcher. Shared by every identity of a process. */
export interface AnonymousCircuits {
  /** The dispatcher for the next anonymous send (counted against its circuit's sends). */
  next(): Dispatcher;
  /** Closes every circuit (waiting for sends under way). */
  close(): Promise<void>;
}

/** Options for {@link createAnonymousCircuits}. */
export interface AnonymousCircuitsOptions {
  /** The Operator's URL: an `.onion` address (through `socks`) or loopback. */
  readonly operatorUrl: string;
  /** Tor's SOCKS port; required for an `.onion` Operator. */
  readonly socks?: SocksAddress;
  /** @defaultValue {@link ANONYMOUS_CIRCUITS} */
  readonly circuits?: number;
  /** @defaultValue {@link ANONYMOUS_SENDS_PER_CIRCUIT} */
  readonly sendsPerCircuit?: number;
  /** @defaultValue {@link ANONYMOUS_CIRCUIT_MAX_AGE_MS} */
  readonly maxAgeMs?: number;
  /** @defaultValue `Date.now` */
  readonly now?: () => number;
  /** @defaultValue common/crypto `randomBytes` */
  readonly random?: (length: number) => Uint8Array;
  /**
   * Test seam: builds the dispatcher of one circuit from its isolation key. @defaultValue
   * `createOperatorDispatcher` (Tor for an onion, a loopback-only Agent for loopback)
   */
  readonly createDispatcher?: (isolationKey: string) => Dispatcher;
}

interface Circuit {
  readonly dispatcher: Dispatcher;
  readonly born: number;
  sends: number;
}

/**
 * A pool of {@link ANONYMOUS_CIRCUITS} circuits, each with its own random isolation key (so Tor
 * builds it apart from every other), used at random and retired after
 * {@link ANONYMOUS_SENDS_PER_CIRCUIT} sends or {@link ANONYMOUS_CIRCUIT_MAX_AGE_MS}. A retired
 * circuit is closed once its sends under way end. The isolation keys live only in memory.
 *
 * @throws `CONFIG_INVALID` / `TOR_UNAVAILABLE` as `createOperatorDispatcher` (checked at once)
 * @example
 * ```ts
 * const anonymous = createAnonymousCircuits({ operatorUrl, socks: { host: '127.0.0.1', port: 9050 } });
 * const http = new HttpOperatorClient({ baseUrl: operatorUrl, dispatcher, anonymous, now: Date.now });
 * ```
 */
export function createAnonymousCircuits(options: AnonymousCircuitsOptions): AnonymousCircuits {
  const size = Math.max(1, options.circuits ?? ANONYMOUS_CIRCUITS);
  const sendsPerCircuit = Math.max(1, options.sendsPerCircuit ?? ANONYMOUS_SENDS_PER_CIRCUIT);
  const maxAgeMs = options.maxAgeMs ?? ANONYMOUS_CIRCUIT_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  const random = options.random ?? randomBytes;
  const viaTor = (isolationKey: string) =>
    createOperatorDispatcher({
      operatorUrl: options.operatorUrl,
      isolationKey,
      ...(options.socks === undefined ? {} : { socks: options.socks }),
    });
  const create = options.createDispatcher ?? viaTor;
  if (options.createDispatcher === undefined) {
    // Checked now (nothing connects): an onion Operator without Tor is refused at once.
    viaTor('check')
      .close()
      .catch(() => undefined);
  }
  const slots: (Circuit | undefined)[] = Array.from({ length: size }, () => undefined);
  let closed = false;

  const retire = (circuit: Circuit) => {
    // close() lets requests under way finish; a failure to close is nothing to report.
    circuit.dispatcher.close().catch(() => undefined);
  };

  return {
    next() {
      if (closed) throw new Error('The anonymous circuits are closed.');
      const at = (random(1)[0] ?? 0) % size;
      let circuit = slots[at];
      if (
        circuit !== undefined &&
        (circuit.sends >= sendsPerCircuit || now() - circuit.born >= maxAgeMs)
      ) {
        retire(circuit);
        circuit = undefined;
      }
      if (circuit === undefined) {
        circuit = { dispatcher: create(toBase64url(random(16))), born: now(), sends: 0 };
        slots[at] = circuit;
      }
      circuit.sends++;
      return circuit.dispatcher;
    },
    async close() {
      closed = true;
      const open = slots.splice(0).filter((c): c is Circuit => c !== undefined);
      await Promise.all(open.map((c) => c.dispatcher.close().catch(() => undefined)));
    },
  };
}
