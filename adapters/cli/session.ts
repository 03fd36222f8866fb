/** Creating a komrade home (`init`) and opening one for every other command. */
import { mkdirSync, rmSync, existsSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import {
  FileKeystore,
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
} from '../../bridge/index.js';
import { AEAD_KEY_BYTES, generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { homePaths, type CliEnvironment, type HomePaths } from './environment.js';
import type { Output } from './output.js';
import { obtainPassphrase, type PromptInput } from './passphrase.js';

/** Everything a command needs from the outside world; built once in main.ts. */
export interface CliDeps {
  readonly environment: CliEnvironment;
  readonly output: Output;
  /** stdin: passphrase prompts and letter text. */
  readonly input: PromptInput & AsyncIterable<string | Buffer>;
  /** How HTTP connections to the Operator are made. */
  readonly dispatcher: Dispatcher;
  readonly now: () => number;
}

/** A home folder opened with its passphrase. */
export interface Session {
  readonly client: KomradeClient;
  readonly operatorUrl: string;
  readonly paths: HomePaths;
  close(): void;
}

/** What `init` created. */
export interface InitResult {
  readonly home: string;
  readonly operator: string;
  readonly signKey: string;
  readonly boxKey: string;
}

const deriving = (output: Output) => () => {
  output.progress('Deriving key from passphrase…');
};

/**
 * Creates the keystore and the local store in the home folder.
 * @throws `KEYSTORE_EXISTS`, `CONFIG_INVALID` for a bad Operator URL, `USAGE` for the passphrase
 */
export async function initHome(
  deps: CliDeps,
  homeFlag: string | undefined,
  operatorUrl: string,
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
  // Checks the URL's shape without connecting.
  const url = new HttpOperatorClient({
    baseUrl: operatorUrl,
    dispatcher: deps.dispatcher,
    now: deps.now,
  }).url;
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
    signKey: toBase64url(keys.signPublic),
    boxKey: toBase64url(keys.boxPublic),
  };
}

/**
 * Unlocks the keystore and opens the local store and the Operator client.
 * @throws `KEYSTORE_MISSING`, `WRONG_PASSPHRASE`, `KEYSTORE_CORRUPT`, `USAGE`
 */
export async function openSession(deps: CliDeps, homeFlag: string | undefined): Promise<Session> {
  const paths = homePaths(homeFlag, deps.environment);
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
  const passphrase = await obtainPassphrase({
    fromEnv: deps.environment.passphrase,
    input: deps.input,
    output: deps.output,
    confirm: false,
  });
  const secrets = await keystore.open(passphrase, { onDeriving: deriving(deps.output) });
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
  const operator = new HttpOperatorClient({
    baseUrl: operatorUrl,
    dispatcher: deps.dispatcher,
    now: deps.now,
  });
  const client = new KomradeClient({ operator, store, keys: secrets.keys, now: deps.now });
  return {
    client,
    operatorUrl,
    paths,
    close: () => {
      store.close();
    },
  };
}
