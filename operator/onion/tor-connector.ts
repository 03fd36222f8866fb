/** The port through which the onion service obtains a running tor: launched, or attached to. */
import type { TorControl } from '../../tor/index.js';

/** Why a tor stopped being usable. */
export interface TorLoss {
  /** The process's exit code, when this program launched it and it exited. */
  readonly exitCode?: number | null;
  /** The signal that ended it (e.g. `SIGKILL`), when launched by this program. */
  readonly exitSignal?: NodeJS.Signals | null;
}

/** A tor the onion service can publish on. */
export interface ConnectedTor {
  /** An authenticated controller. */
  readonly control: TorControl;
  /** The tor's process id, when this program launched it. */
  readonly pid?: number;
  /** Resolves when this tor can no longer be used: its process exited or its control port closed. */
  readonly lost: Promise<TorLoss>;
  /** Releases this tor: stops a launched one, closes the control connection of an attached one. */
  close(): Promise<void>;
}

/**
 * Gives the onion service a running tor. Called once at start and again after each loss, so
 * implementations must be able to connect repeatedly (same data directory, same control port).
 */
export interface TorConnector {
  /** Human description for messages, e.g. `tor (launched, /var/lib/komrade/tor)`. */
  readonly description: string;
  /**
   * @throws TOR_UNAVAILABLE (a TorError) when tor cannot be started or reached; its message says
   * how to install tor when the binary is missing.
   */
  connect(): Promise<ConnectedTor>;
}
