/** `AttachedTorConnector`: publishes through a tor that is already running (the system's tor). */
import type { Logger } from '../../common/logging/index.js';
import {
  attachTor,
  type AttachTorOptions,
  type AttachedTor,
  type BootstrapProgress,
  type ControlTarget,
} from '../../tor/index.js';
import type { ConnectedTor, TorConnector } from './tor-connector.js';

/** Options for {@link AttachedTorConnector}. */
export interface AttachedTorConnectorOptions {
  /** The running tor's control port (`{ port }`, loopback) or control socket (`{ path }`). */
  readonly control: ControlTarget;
  /** Its cookie file. @defaultValue the one its PROTOCOLINFO names */
  readonly cookiePath?: string;
  /** Receives the tor's bootstrap phase once per connection. */
  readonly onProgress?: (progress: BootstrapProgress) => void;
  readonly logger: Logger;
  /** Connects. @defaultValue tor/'s `attachTor` */
  readonly attach?: (options: AttachTorOptions) => Promise<AttachedTor>;
}

/**
 * Connects to an existing tor's control port with cookie authentication. The onion is added
 * without `Flags=Detach`, so it disappears when the Operator's control connection closes; after a
 * loss the service connects again and re-adds it.
 *
 * @example
 * ```ts
 * const connector = new AttachedTorConnector({ control: { port: 9051 }, logger });
 * ```
 */
export class AttachedTorConnector implements TorConnector {
  readonly #options: AttachedTorConnectorOptions;
  readonly #attach: (options: AttachTorOptions) => Promise<AttachedTor>;

  constructor(options: AttachedTorConnectorOptions) {
    this.#options = options;
    this.#attach = options.attach ?? attachTor;
  }

  get description(): string {
    const target = this.#options.control;
    return `the tor whose control ${'path' in target ? `socket is ${target.path}` : `port is ${target.port}`}`;
  }

  async connect(): Promise<ConnectedTor> {
    const o = this.#options;
    const tor = await this.#attach({
      control: o.control,
      ...(o.cookiePath === undefined ? {} : { cookiePath: o.cookiePath }),
      logger: o.logger,
    });
    try {
      o.onProgress?.(await tor.control.bootstrapPhase());
    } catch (error) {
      await tor.close();
      throw error;
    }
    return {
      control: tor.control,
      lost: tor.control.closed.then(() => ({})),
      close: () => tor.close(),
    };
  }
}
