/** Creating a komrade home (`init`) and opening one for every other command. */
import { mkdirSync, rmSync, existsSync } from 'node:fs';
import {
  FileKeystore,
  HttpOperatorClient,
  KomradeClient,
  RetryingOperatorClient,
  SqliteLocalStore,
  checkOperatorUrl,
  ensureCircuitIsolationKey,
  ratchetKeyOf,
  type OperatorClient,
  type OperatorDestination,
  type OperatorRetry,
  type SocksAddress,
  type WatchedIdentity,
} from '../../client/index.js';
import { AEAD_KEY_BYTES, generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { openWithAgent } from './agent/index.js';
import { homePaths, type CliEnvironment, type HomePaths } from './environment.js';
import type { Output } from './output.js';
import { LazyOperatorClient } from './lazy-operator-client.js';
import { explainOperatorFailure } from './operator-failure.js';
import { obtainPassphrase, withPassphrase, type PromptInput } from './passphrase.js';
import type { OpenTransport, OperatorTransport } from './tor-transport.js';

/** Everything a command needs from the outside world; built once in main.ts. */
export interface CliDeps {
  readonly environment: CliEnvironment;
  readonly output: Output;
  /** stdin: passphrase prompts and letter text. */
  readonly input: PromptInput & AsyncIterable<string | Buffer>;
  /** Opens the connection to the Operator (direct, a tor's SOCKS port, or our own tor). */
  readonly openTransport: OpenTransport;
  readonly now: () => number;
  /**
   * Runs a long-running adapter (`komrade telegram`, `komrade discord`) as its own process with
   * these arguments and resolves to its exit code. Absent in tests that do not need it.
   */
  readonly runAdapter?: (adapter: ChatAdapter, args: readonly string[]) => Promise<number>;
  /** The package version, for `komrade --version`. */
  readonly version?: string;
  /**
   * Calls `listener` on Ctrl-C (SIGINT) or SIGTERM until the returned function is called (then
   * the signal ends the process as usual again). Absent in tests that do not need it.
   */
  readonly onInterrupt?: (listener: () => void) => () => void;
}

/** The chat adapters `komrade` can start, each as its own process. */
export type ChatAdapter = 'telegram' | 'discord';

/** Per-command options that shape the transport. */
export interface SessionOptions {
  /** `--tor-binary`. */
  readonly torBinary?: string;
}

/** A home folder opened with its passphrase. */
export interface Session {
  readonly client: KomradeClient;
  /** The Operator as the client reaches it, for a registry monitor (answers not yet checked). */
  readonly operator: OperatorClient;
  /** The registered identity as a monitor watches it (its keys as made here), if registered. */
  readonly watched: () => WatchedIdentity | undefined;
  readonly operatorUrl: string;
  /** The tor SOCKS port used for an onion Operator, as `host:port`; absent when komrade starts tor. */
  readonly torSocks?: string;
  readonly paths: HomePaths;
  /** Closes the local store, then the transport (stopping a tor this command launched). */
  close(): Promise<void>;
}

/** What `init` created. */
export interface InitResult {
  readonly home: string;
  readonly operator: string;
  /** `direct` (loopback), `tor-socks` (a running tor) or `own-tor` (launched when needed). */
  readonly transport: 'direct' | 'tor-socks' | 'own-tor';
  /** The SOCKS port given with `--tor-socks`, as `host:port`. */
  readonly torSocks?: string;
  readonly signKey: string;
  readonly boxKey: string;
}

/**
 * A person waits at the terminal: a few quick retries cover a circuit that failed or a descriptor
 * that is a moment late (about 7 s of waiting in all), and then komrade says the Operator is not
 * answering rather than keep them waiting.
 */
const OPERATOR_RETRY = { attempts: 4, baseMs: 1_000, maxMs: 4_000 } as const;

const deriving = (output: Output) => () => {
  output.progress('Deriving key from passphrase…');
};

/** `host:port`, with brackets around an IPv6 host. */
const showSocks = (socks: SocksAddress): string =>
  `${socks.host.includes(':') ? `[${socks.host}]` : socks.host}:${socks.port}`;

/**
 * Creates the keystore and the local store in the home folder.
 * @param torSocks - `--tor-socks`, already parsed
 * @throws `KEYSTORE_EXISTS`, `CONFIG_INVALID` for an Operator URL that is neither onion nor
 * loopback, `USAGE` for the passphrase
 */
export async function initHome(
  deps: CliDeps,
  homeFlag: string | undefined,
  operatorUrl: string,
  torSocks?: SocksAddress,
): Promise<InitResult> {
  const paths = homePaths(homeFlag, deps.environment);
  const keystore = new FileKeystore(paths.keystore, { kdf: deps.environment.kdf });
  if (keystore.exists()) {
    throw new KomradeError('KEYSTORE_EXISTS', `A keystore already exists in ${paths.home}.`);
  }
  if (existsSync(paths.store)) {
    throw new KomradeError(
      'KEYSTORE_EXISTS',
      `A local store (komrade.db) already exists in ${paths.home} without a keystore; move it away first.`,
    );
  }
  // Refuses anything but an onion or loopback Operator, without connecting.
  const destination = checkOperatorUrl(operatorUrl);
  const url = destination.url;
  const passphrase = await obtainPassphrase({
    fromEnv: deps.environment.passphrase,
    input: deps.input,
    output: deps.output,
    confirm: true,
  });
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const keys = generateIdentityKeys();
  const storageKey = randomBytes(AEAD_KEY_BYTES);
  const store = new SqliteLocalStore(paths.store, { storageKey });
  try {
    store.setOperatorUrl(url);
    store.setTorSocks(torSocks);
    ensureCircuitIsolationKey(store);
  } finally {
    store.close();
  }
  try {
    await keystore.create(passphrase, { keys, storageKey }, { onDeriving: deriving(deps.output) });
  } catch (error) {
    // Without its keystore the new store is useless: leave the folder as it was.
    for (const suffix of ['', '-wal', '-shm']) rmSync(paths.store + suffix, { force: true });
    throw error;
  }
  return {
    home: paths.home,
    operator: url,
    transport: transportOf(destination, torSocks),
    ...(torSocks === undefined ? {} : { torSocks: showSocks(torSocks) }),
    signKey: toBase64url(keys.signPublic),
    boxKey: toBase64url(keys.boxPublic),
  };
}

/**
 * The keystore of a home that `komrade init` made, checked to have its local store beside it.
 * @throws `KEYSTORE_MISSING`, `CONFIG_INVALID`
 */
export function initializedKeystore(paths: HomePaths): FileKeystore {
  const keystore = new FileKeystore(paths.keystore);
  if (!keystore.exists()) {
    throw new KomradeError('KEYSTORE_MISSING', `No keystore in ${paths.home}.`);
  }
  if (!existsSync(paths.store)) {
    throw new KomradeError(
      'CONFIG_INVALID',
      `The keystore in ${paths.home} has no local store (komrade.db) beside it; it was not created by komrade init.`,
    );
  }
  return keystore;
}

/**
 * Unlocks the keystore and opens the local store and the Operator client.
 * @throws `KEYSTORE_MISSING`, `WRONG_PASSPHRASE`, `KEYSTORE_CORRUPT`, `USAGE`
 */
export async function openSession(
  deps: CliDeps,
  homeFlag: string | undefined,
  options: SessionOptions = {},
): Promise<Session> {
  const paths = homePaths(homeFlag, deps.environment);
  const keystore = initializedKeystore(paths);
  // A running `komrade unlock` agent spares the passphrase; without one, ask as always.
  const secrets =
    (await openWithAgent(paths.home, keystore)) ??
    (await withPassphrase(
      { fromEnv: deps.environment.passphrase, input: deps.input, output: deps.output },
      (passphrase) => keystore.open(passphrase, { onDeriving: deriving(deps.output) }),
    ));
  const store = new SqliteLocalStore(paths.store, { storageKey: secrets.storageKey });
  secrets.storageKey.fill(0);
  const operatorUrl = store.operatorUrl();
  if (operatorUrl === undefined) {
    store.close();
    throw new KomradeError(
      'CONFIG_INVALID',
      `The local store in ${paths.home} has no Operator address; it was not created by komrade init.`,
    );
  }
  let destination: OperatorDestination;
  let isolationKey: string;
  try {
    // Every command refuses an Operator that is neither onion nor loopback, before connecting.
    destination = checkOperatorUrl(operatorUrl);
    isolationKey = ensureCircuitIsolationKey(store);
  } catch (error) {
    store.close();
    throw error;
  }
  const socks = deps.environment.torSocks ?? store.torSocks();
  let transport: OperatorTransport | undefined;
  const operator = new LazyOperatorClient(
    async () => {
      transport = await deps.openTransport({
        destination,
        socks,
        isolationKey,
        torDataDir: paths.tor,
        torBinary: options.torBinary ?? deps.environment.torBinary,
      });
      const http = new HttpOperatorClient({
        baseUrl: destination.url,
        dispatcher: transport.dispatcher,
        // Letters go unsigned on circuits apart from this identity's own (fetch, ack, tokens).
        anonymous: transport.anonymous,
        now: deps.now,
      });
      return new RetryingOperatorClient(http, {
        ...OPERATOR_RETRY,
        onRetry: (retry) => {
          deps.output.progress(retryMessage(retry, destination.kind));
        },
      });
    },
    (error) => explainOperatorFailure(error, destination),
  );
  // The CLI keeps the keys on the komrade's own device.
  const client = new KomradeClient({
    operator,
    store,
    keys: secrets.keys,
    now: deps.now,
    keyHolder: 'self',
  });
  const keys = secrets.keys;
  return {
    client,
    operator,
    watched: () => {
      const own = store.ownReceipt();
      if (own === undefined) return undefined;
      return {
        name: own.name,
        signKey: keys.signPublic,
        boxKey: keys.boxPublic,
        ratchetKey: ratchetKeyOf(keys),
        keyHolder: 'self',
        ...(own.proof === undefined ? {} : { leafIndex: own.proof.index }),
      };
    },
    operatorUrl: destination.url,
    ...(socks === undefined || destination.kind === 'loopback'
      ? {}
      : { torSocks: showSocks(socks) }),
    paths,
    close: async () => {
      store.close();
      await transport?.close();
    },
  };
}

function transportOf(
  destination: OperatorDestination,
  socks: SocksAddress | undefined,
): InitResult['transport'] {
  if (destination.kind === 'loopback') return 'direct';
  return socks === undefined ? 'own-tor' : 'tor-socks';
}

/** The stderr line before a retry, e.g. "Tor: onion service not reachable yet (…); retrying in 2 s…". */
export function retryMessage(retry: OperatorRetry, kind: OperatorDestination['kind']): string {
  const seconds = Math.max(1, Math.round(retry.delayMs / 1000));
  const what =
    kind === 'loopback'
      ? 'Operator not reachable'
      : retry.tor
        ? 'Tor: onion service not reachable yet'
        : 'Tor: the onion service did not answer';
  return `${what} (${retry.reason}); retrying in ${seconds} s… (attempt ${retry.attempt + 1} of ${retry.attempts})`;
}
