/** `LaunchedTorConnector`: runs the Operator's own tor with a private DataDirectory. */
import type { Logger } from '../../common/logging/index.js';
import {
  launchTor,
  type BootstrapProgress,
  type BootstrapStall,
  type LaunchTorOptions,
  type TorProcess,
} from '../../tor/index.js';
import type { ConnectedTor, TorConnector } from './tor-connector.js';

/** Options for {@link LaunchedTorConnector}. */
export interface LaunchedTorConnectorOptions {
  /** The tor binary. @defaultValue `'tor'` */
  readonly torPath?: string;
  /** Tor's DataDirectory, kept across starts (guards, consensus): e.g. `<dataDir>/tor`. */
  readonly dataDir: string;
  /** More torrc lines (a private test network's `DirAuthority` lines). @defaultValue [] */
  readonly extraTorrcLines?: readonly string[];
  /** How long bootstrapping may take. @defaultValue 180000 */
  readonly bootstrapTimeoutMs?: number;
  /** Receives each rise of the bootstrap percentage, at every (re)launch. */
  readonly onProgress?: (progress: BootstrapProgress) => void;
  /** Receives, once per `stallMs`, a bootstrap that has not moved for `stallMs`. */
  readonly onStall?: (stall: BootstrapStall) => void;
  /** @defaultValue 30000 */
  readonly stallMs?: number;
  readonly logger: Logger;
  /** Starts tor. @defaultValue tor/'s `launchTor` */
  readonly launch?: (options: LaunchTorOptions) => Promise<TorProcess>;
}

/**
 * Launches a service-only tor (`SocksPort 0`): loopback control port with cookie auth, owned by
 * this process (tor exits when the Operator does), DataDirectory reused on every relaunch.
 *
 * @example
 * ```ts
 * const connector = new LaunchedTorConnector({ dataDir: join(dataDir, 'tor'), logger });
 * const tor = await connector.connect();
 * ```
 */
export class LaunchedTorConnector implements TorConnector {
  readonly #options: LaunchedTorConnectorOptions;
  readonly #launch: (options: LaunchTorOptions) => Promise<TorProcess>;

  constructor(options: LaunchedTorConnectorOptions) {
    this.#options = options;
    this.#launch = options.launch ?? launchTor;
  }

  get description(): string {
    return `tor launched by the Operator (DataDirectory ${this.#options.dataDir})`;
  }

  async connect(): Promise<ConnectedTor> {
    const o = this.#options;
    const tor = await this.#launch({
      ...(o.torPath === undefined ? {} : { torPath: o.torPath }),
      dataDir: o.dataDir,
      socksPort: false,
      extraTorrcLines: o.extraTorrcLines ?? [],
      bootstrapTimeoutMs: o.bootstrapTimeoutMs ?? 180_000,
      ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
      ...(o.onStall === undefined ? {} : { onStall: o.onStall, stallMs: o.stallMs ?? 30_000 }),
      logger: o.logger,
    });
    return {
      control: tor.control,
      pid: tor.pid,
      lost: tor.exited.then((exit) => ({ exitCode: exit.code, exitSignal: exit.signal })),
      close: () => tor.stop(),
    };
  }
}
