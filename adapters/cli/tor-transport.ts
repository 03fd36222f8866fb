/**
 * How the CLI reaches its Operator: directly on loopback, through a configured Tor SOCKS port, or
 * through a tor it launches itself (lazily, with its DataDirectory in the komrade home).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import {
  createAnonymousCircuits,
  createOperatorDispatcher,
  type AnonymousCircuits,
  type OperatorDestination,
  type SocksAddress,
} from '../../client/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import type { Output } from './output.js';

/** What one command needs a transport for. */
export interface TransportRequest {
  readonly destination: OperatorDestination;
  /** `KOMRADE_TOR_SOCKS`, else the SOCKS port saved at `init`; `undefined`: launch our own tor. */
  readonly socks: SocksAddress | undefined;
  readonly isolationKey: string;
  /** DataDirectory of our own tor (`<home>/tor`). */
  readonly torDataDir: string;
  /** `--tor-binary`, else `KOMRADE_TOR_BINARY`; `undefined`: `tor` on PATH. */
  readonly torBinary: string | undefined;
}

/** An open transport; `close()` releases connections and stops a tor we launched. */
export interface OperatorTransport {
  /** The identity's own connections (its isolation key): every signed request. */
  readonly dispatcher: Dispatcher;
  /** Circuits of their own for anonymous sends, never `dispatcher`'s. */
  readonly anonymous: AnonymousCircuits;
  /** `direct`: loopback; `tor-socks`: a running tor; `own-tor`: one this command launched. */
  readonly via: 'direct' | 'tor-socks' | 'own-tor';
  close(): Promise<void>;
}

/** Opens the transport for a command; called at most once per command, on first use. */
export type OpenTransport = (request: TransportRequest) => Promise<OperatorTransport>;

/** Bootstrap progress as the launcher reports it (tor/'s `BootstrapProgress`). */
export interface OwnTorProgress {
  readonly percent: number;
  readonly summary: string;
}

/** The options of tor/'s `launchTor` that the CLI uses. */
export interface LaunchOwnTorOptions {
  readonly torPath?: string;
  readonly dataDir: string;
  readonly extraTorrcLines: readonly string[];
  readonly onProgress: (progress: OwnTorProgress) => void;
}

/** A launched tor, as the CLI needs it. */
export interface OwnTor {
  readonly socksPort?: number;
  stop(): Promise<void>;
}

/** What {@link transportOpener} is built from (main.ts passes tor/'s `launchTor`). */
export interface TransportOpenerDeps {
  readonly output: Output;
  readonly launchTor: (options: LaunchOwnTorOptions) => Promise<OwnTor>;
  /** `KOMRADE_TOR_EXTRA_TORRC` (tests only). */
  readonly extraTorrcFile: string | undefined;
  /** A monotonic-enough clock for the bootstrap time shown. */
  readonly now: () => number;
}

/**
 * The CLI's transport policy:
 * - a loopback Operator: a direct connection (development and tests);
 * - an onion Operator with a SOCKS port (`KOMRADE_TOR_SOCKS` or `init --tor-socks`): that tor;
 * - an onion Operator without one: launch tor (DataDirectory `<home>/tor`), show its bootstrap
 *   progress on stderr, and stop it when the command ends.
 * Every path goes through the bridge's `createOperatorDispatcher`, which refuses anything else.
 */
export function transportOpener(deps: TransportOpenerDeps): OpenTransport {
  return async (request) => {
    const { destination } = request;
    if (destination.kind === 'loopback' || request.socks !== undefined) {
      const socks = request.socks === undefined ? {} : { socks: request.socks };
      const dispatcher = createOperatorDispatcher({
        operatorUrl: destination.url,
        isolationKey: request.isolationKey,
        ...socks,
      });
      const anonymous = createAnonymousCircuits({ operatorUrl: destination.url, ...socks });
      return {
        dispatcher,
        anonymous,
        via: destination.kind === 'loopback' ? 'direct' : 'tor-socks',
        close: async () => {
          await Promise.all([dispatcher.close(), anonymous.close()]);
        },
      };
    }
    const tor = await launchOwnTor(deps, request);
    try {
      if (tor.socksPort === undefined) {
        throw new KomradeError('TOR_UNAVAILABLE', 'The tor komrade started has no SOCKS port.');
      }
      const socks = { host: '127.0.0.1', port: tor.socksPort };
      const dispatcher = createOperatorDispatcher({
        operatorUrl: destination.url,
        isolationKey: request.isolationKey,
        socks,
      });
      const anonymous = createAnonymousCircuits({ operatorUrl: destination.url, socks });
      return {
        dispatcher,
        anonymous,
        via: 'own-tor',
        close: async () => {
          try {
            await Promise.all([dispatcher.close(), anonymous.close()]);
          } finally {
            await tor.stop();
          }
        },
      };
    } catch (error) {
      await tor.stop();
      throw error;
    }
  };
}

async function launchOwnTor(deps: TransportOpenerDeps, request: TransportRequest): Promise<OwnTor> {
  const { output } = deps;
  const extraTorrcLines = await readExtraTorrc(deps);
  const first = !existsSync(request.torDataDir);
  output.progress(
    first
      ? `Starting Tor for the first time (data in ${request.torDataDir}); later starts are faster…`
      : 'Starting Tor…',
  );
  const started = deps.now();
  try {
    const tor = await deps.launchTor({
      ...(request.torBinary === undefined ? {} : { torPath: request.torBinary }),
      dataDir: request.torDataDir,
      extraTorrcLines,
      onProgress: (progress) => {
        const line = `Tor: bootstrapped ${progress.percent}% (${progress.summary})`;
        if (progress.percent >= 100) output.progress(line);
        else if (output.interactive) output.progressUpdate(line);
        else output.progress(line);
      },
    });
    output.progress(`Tor: ready in ${((deps.now() - started) / 1000).toFixed(1)} s.`);
    return tor;
  } catch (error) {
    const reason = isKomradeError(error) ? ` (${error.message})` : '';
    throw new KomradeError(
      'TOR_UNAVAILABLE',
      `The Operator is an onion service and komrade could not start tor to reach it${reason}; nothing was sent.`,
      { cause: error },
    );
  }
}

/** The extra torrc lines of `KOMRADE_TOR_EXTRA_TORRC` (tests only), without blanks and comments. */
async function readExtraTorrc(deps: TransportOpenerDeps): Promise<string[]> {
  if (deps.extraTorrcFile === undefined) return [];
  let text: string;
  try {
    text = await readFile(deps.extraTorrcFile, 'utf8');
  } catch (cause) {
    throw new KomradeError(
      'CONFIG_INVALID',
      'KOMRADE_TOR_EXTRA_TORRC names a file that cannot be read.',
      {
        cause,
      },
    );
  }
  deps.output.progress(
    'KOMRADE_TOR_EXTRA_TORRC is set: adding its torrc lines (meant for tests on a private Tor network).',
  );
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
