/** `TorOnionService`: ADD_ONION with a persisted key, and re-publication whenever tor is lost. */
import { isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { TorError, retryWithBackoff, type TorControl } from '../../tor/index.js';
import type { OnionKeyStore } from './onion-key-store.js';
import {
  publishOnionbalanceInstance,
  removeInstanceKey,
  unpublishOnionbalanceInstance,
} from './onionbalance-instance.js';
import type { OnionService, PublishedOnion } from './onion-service.js';
import type { ConnectedTor, TorConnector, TorLoss } from './tor-connector.js';

/** What the service reports while it recovers, for the composition root's human output. */
export interface OnionServiceEvents {
  /** Tor exited or its control connection closed; a relaunch follows. */
  readonly onTorLost?: (loss: TorLoss) => void;
  /** A relaunch or re-publication failed; the next try follows after `delayMs`. */
  readonly onRestartFailed?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** The same onion is published again on a new tor. */
  readonly onRepublished?: (onion: PublishedOnion) => void;
}

/** Options for {@link TorOnionService}. */
export interface TorOnionServiceOptions {
  /** How to obtain a tor: launch one or attach to one. */
  readonly connector: TorConnector;
  /** Where the onion key persists between starts. */
  readonly keys: OnionKeyStore;
  /** The loopback listener the onion forwards to. */
  readonly target: { readonly host: string; readonly port: number };
  /** The port clients use on the `.onion` address. @defaultValue 80 */
  readonly virtualPort?: number;
  /** Ask for onion-service proof-of-work DoS defence where tor supports it. @defaultValue true */
  readonly powDefenses?: boolean;
  /**
   * Delays between relaunch attempts (doubling, with jitter), and before the first attempt when
   * tor keeps dying within a minute of starting. @defaultValue `{ baseMs: 1000, maxMs: 30000 }`
   */
  readonly restartBackoff?: { readonly baseMs: number; readonly maxMs: number };
  /**
   * Publish as an Onionbalance instance of the front at `masterAddress`, from the `serviceDir`
   * HiddenServiceDir, instead of `ADD_ONION` (which has no instance flag). The printed address is
   * still the instance's own; clients use the front's. No proof-of-work: the front's descriptor
   * (Onionbalance 0.2.2) carries no PoW parameters. @defaultValue undefined
   */
  readonly onionbalance?: { readonly masterAddress: string; readonly serviceDir: string };
  readonly events?: OnionServiceEvents;
  readonly logger: Logger;
  /** @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** A tor that lived at least this long was healthy: its loss is relaunched without delay. */
const HEALTHY_MS = 60_000;
/** How long `stop()` waits for a relaunch in progress before giving up on it. */
const STOP_WAIT_MS = 5_000;

/**
 * Publishes the Operator through tor's control port (`ADD_ONION`, never `Flags=Detach`, so the
 * service disappears with the controller), persists the key tor generates on first start, and
 * watches tor: when it is lost, connects again (same DataDirectory for a launched tor) with
 * backoff and re-adds the same key, so the `.onion` address never changes. The store is not
 * involved: letters accepted before the loss stay where they are.
 *
 * @example
 * ```ts
 * const onion = new TorOnionService({ connector, keys, target: { host: '127.0.0.1', port }, logger });
 * const { url } = await onion.start();
 * ```
 */
export class TorOnionService implements OnionService {
  readonly #connector: TorConnector;
  readonly #keys: OnionKeyStore;
  readonly #target: { readonly host: string; readonly port: number };
  readonly #virtualPort: number;
  readonly #pow: boolean;
  readonly #backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly #onionbalance: TorOnionServiceOptions['onionbalance'];
  readonly #events: OnionServiceEvents;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  #current: ConnectedTor | undefined;
  #currentSince = 0;
  #quickLosses = 0;
  #published: PublishedOnion | undefined;
  #recovering: Promise<void> | undefined;
  #stopping = false;

  constructor(options: TorOnionServiceOptions) {
    this.#connector = options.connector;
    this.#keys = options.keys;
    this.#target = options.target;
    this.#virtualPort = options.virtualPort ?? 80;
    this.#pow = options.powDefenses ?? true;
    this.#backoff = options.restartBackoff ?? { baseMs: 1_000, maxMs: 30_000 };
    this.#onionbalance = options.onionbalance;
    this.#events = options.events ?? {};
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  /** The pid of the tor in use, when this program launched it. */
  get torPid(): number | undefined {
    return this.#current?.pid;
  }

  async start(): Promise<PublishedOnion> {
    if (this.#published !== undefined) return this.#published;
    const tor = await this.#connector.connect();
    let published: PublishedOnion;
    try {
      published = await this.#publish(tor);
      // stop() was called while tor was starting: do not keep a tor nobody will stop.
      if (this.#isStopping()) {
        throw new TorError('the onion service was stopped', { transient: false });
      }
    } catch (error) {
      await tor.close();
      throw error;
    }
    this.#published = published;
    this.#adopt(tor);
    return published;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    if (this.#recovering !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#recovering,
        new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
    const tor = this.#current;
    this.#current = undefined;
    if (tor !== undefined && this.#onionbalance !== undefined) {
      await unpublishOnionbalanceInstance(tor.control);
    }
    await tor?.close().catch(() => undefined);
    if (this.#onionbalance !== undefined) removeInstanceKey(this.#onionbalance.serviceDir);
  }

  /** Adds the onion on `tor` with the persisted key (saving the key tor makes on first start). */
  async #publish(tor: ConnectedTor): Promise<PublishedOnion> {
    const saved = this.#keys.load();
    const announce = await this.#announceUpload(tor.control);
    const added =
      this.#onionbalance === undefined
        ? await tor.control.addOnion({
            ...(saved === undefined ? {} : { privateKey: saved }),
            ports: [
              {
                virtualPort: this.#virtualPort,
                targetHost: this.#target.host,
                targetPort: this.#target.port,
              },
            ],
            powDefenses: this.#pow,
          })
        : await this.#publishInstance(tor, saved);
    if (added.privateKey !== undefined) {
      this.#keys.save(added.privateKey);
      this.#logger.info('operator.onion.key_created');
    }
    if (this.#published !== undefined && added.hostname !== this.#published.hostname) {
      // Cannot happen with a persisted key; refuse rather than serve under a second address.
      if (this.#onionbalance === undefined) {
        await tor.control.delOnion(added.serviceId).catch(() => undefined);
      } else {
        await unpublishOnionbalanceInstance(tor.control);
      }
      throw new TorError('tor published the onion under a different address', {
        transient: false,
      });
    }
    announce(added.serviceId);
    this.#logger.info('operator.onion.added', {
      pow: added.powDefenses,
      pid: tor.pid,
      onionbalanceInstance: this.#onionbalance !== undefined,
    });
    if (this.#pow && !added.powDefenses && this.#onionbalance === undefined) {
      this.#logger.warn('operator.onion.pow_unavailable', {
        detail: 'This tor does not support onion-service proof-of-work (needs tor 0.4.9.1+).',
      });
    }
    const port = this.#virtualPort === 80 ? '' : `:${this.#virtualPort}`;
    return {
      hostname: added.hostname,
      url: `http://${added.hostname}${port}`,
      powDefenses: added.powDefenses,
    };
  }

  /** Configures the Onionbalance instance; its result has the shape of an ADD_ONION reply. */
  async #publishInstance(
    tor: ConnectedTor,
    saved: string | undefined,
  ): Promise<{ serviceId: string; hostname: string; privateKey?: string; powDefenses: boolean }> {
    const ob = this.#onionbalance;
    if (ob === undefined) throw new Error('not an Onionbalance instance');
    const instance = await publishOnionbalanceInstance(
      tor.control,
      {
        masterAddress: ob.masterAddress,
        serviceDir: ob.serviceDir,
        virtualPort: this.#virtualPort,
        target: this.#target,
      },
      saved,
    );
    return {
      serviceId: instance.serviceId,
      hostname: `${instance.serviceId}.onion`,
      ...(instance.privateKey === undefined ? {} : { privateKey: instance.privateKey }),
      powDefenses: false,
    };
  }

  /** Logs once when tor has uploaded the descriptor (from then on clients can find the onion). */
  async #announceUpload(control: TorControl): Promise<(serviceId: string) => void> {
    const started = this.#now();
    const uploaded = new Set<string>();
    let expected: string | undefined;
    let done = false;
    const finish = (): void => {
      done = true;
      this.#logger.info('operator.onion.published', { afterMs: this.#now() - started });
      void unsubscribe().catch(() => undefined);
    };
    // `finish` runs only after `expected` is set, i.e. after this assignment.
    const unsubscribe = await control.subscribe(['HS_DESC'], (event) => {
      const [action, address] = event.body.split(' ');
      if (done || action !== 'UPLOADED' || address === undefined) return;
      uploaded.add(address);
      if (address === expected) finish();
    });
    return (serviceId) => {
      expected = serviceId;
      if (!done && uploaded.has(serviceId)) finish();
    };
  }

  /** A method, so the compiler does not keep a narrowing of the flag across an await. */
  #isStopping(): boolean {
    return this.#stopping;
  }

  #adopt(tor: ConnectedTor): void {
    this.#current = tor;
    this.#currentSince = this.#now();
    void tor.lost.then((loss) => {
      if (this.#stopping || this.#current !== tor) return;
      this.#current = undefined;
      this.#recovering = this.#recover(tor, loss);
    });
  }

  async #recover(lostTor: ConnectedTor, loss: TorLoss): Promise<void> {
    const published = this.#published;
    if (published === undefined) return;
    this.#quickLosses = this.#now() - this.#currentSince < HEALTHY_MS ? this.#quickLosses + 1 : 0;
    this.#logger.warn('operator.tor.lost', {
      exitCode: loss.exitCode ?? null,
      exit: loss.exitSignal ?? null,
      quickLosses: this.#quickLosses,
    });
    this.#events.onTorLost?.(loss);
    await lostTor.close().catch(() => undefined);
    const { baseMs, maxMs } = this.#backoff;
    if (this.#quickLosses > 1) {
      // Tor keeps dying soon after starting: do not relaunch it in a tight loop.
      await sleep(Math.min(maxMs, baseMs * 2 ** (this.#quickLosses - 2)), this.#abort.signal);
    }
    try {
      const tor = await retryWithBackoff(
        async () => {
          if (this.#isStopping()) throw new Error('stopping');
          const next = await this.#connector.connect();
          try {
            if (this.#isStopping()) throw new Error('stopping');
            await this.#publish(next);
          } catch (error) {
            await next.close();
            throw error;
          }
          return next;
        },
        {
          attempts: Number.POSITIVE_INFINITY,
          baseMs,
          maxMs,
          retryIf: () => !this.#isStopping(),
          signal: this.#abort.signal,
          onRetry: (info) => {
            this.#logger.warn('operator.tor.restart_failed', {
              attempt: info.attempt,
              delayMs: info.delayMs,
              reason: safeReason(info.error),
            });
            this.#events.onRestartFailed?.(info);
          },
        },
      );
      if (this.#isStopping()) {
        await tor.close();
        return;
      }
      this.#adopt(tor);
      this.#logger.info('operator.tor.restarted', { pid: tor.pid });
      this.#events.onRepublished?.(published);
    } catch (error) {
      if (!this.#stopping) {
        this.#logger.error('operator.tor.restart_abandoned', { reason: safeReason(error) });
      }
    } finally {
      this.#recovering = undefined;
    }
  }
}

/** A Komrade error's message is safe to log; anything else only by its type. */
function safeReason(error: unknown): string {
  if (isKomradeError(error)) return error.message;
  return error instanceof Error ? error.constructor.name : typeof error;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
