/** `komrade backup`, `komrade restore` and `komrade passphrase`: keeping an identity safe. */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  FileKeystore,
  MAX_BACKUP_BYTES,
  SqliteLocalStore,
  openBackup,
  prepareRestoredStore,
  sealBackup,
  snapshotLocalStore,
  writeBackupFile,
  writeLocalStoreImage,
} from '../../client/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { homePaths, type HomePaths } from './environment.js';
import { obtainPassphrase, withPassphrase } from './passphrase.js';
import { initializedKeystore, type CliDeps } from './session.js';

/** What hints may name; program.ts fills in the rest. */
interface HomeHint {
  home?: string;
}

/** The files of a home that hold the identity: moved aside (never deleted) by `restore --force`. */
const IDENTITY_FILES = (paths: HomePaths): string[] => [
  paths.keystore,
  paths.store,
  `${paths.store}-wal`,
  `${paths.store}-shm`,
];

const examples = (...lines: string[]) =>
  ['', 'Examples:', ...lines.map((line) => `  $ ${line}`)].join('\n');

/** The default backup file name: the day it was taken, in the current folder. */
const defaultBackupFile = (now: number): string =>
  `komrade-backup-${new Date(now).toISOString().slice(0, 10)}.kbackup`;

/**
 * Registers the three commands on `program`.
 * @param hints - where the home folder is noted for error hints
 */
export function addBackupCommands(program: Command, deps: CliDeps, hints: HomeHint): void {
  const { output, environment } = deps;
  const deriving = () => {
    output.progress('Deriving key from passphrase…');
  };
  const pathsOf = (command: Command): HomePaths => {
    const paths = homePaths(command.optsWithGlobals<{ home?: string }>().home, environment);
    hints.home = paths.home;
    return paths;
  };
  /** A second passphrase (backup or new): from its variable, or typed at a terminal. */
  const secondPassphrase = async (
    fromEnv: string | undefined,
    variable: string,
    question: string,
    confirm: boolean,
  ): Promise<string> => {
    if (fromEnv === undefined) {
      // obtainPassphrase's own message would name KOMRADE_PASSPHRASE, the wrong variable here.
      if (deps.input.isTTY !== true) {
        throw new KomradeError(
          'USAGE',
          `No ${question}: set ${variable}, or run komrade in a terminal to type it.`,
        );
      }
      output.progress(`Now the ${question}.`);
    }
    return obtainPassphrase({ fromEnv, input: deps.input, output, confirm });
  };
  const unlock = (keystore: FileKeystore) =>
    withPassphrase({ fromEnv: environment.passphrase, input: deps.input, output }, (passphrase) =>
      keystore.open(passphrase, { onDeriving: deriving }),
    );

  program
    .command('backup')
    .description('write your keys and local state to one encrypted file, under its own passphrase')
    .argument('[file]', 'where to write it (default: komrade-backup-YYYY-MM-DD.kbackup here)')
    .option('--force', 'replace the file when it exists')
    .addHelpText(
      'after',
      [
        '',
        'The file holds your keys and local store, encrypted under a backup passphrase',
        '(KOMRADE_BACKUP_PASSPHRASE in scripts) that is asked twice; your keystore passphrase is',
        'not in it. Keep the file and its passphrase apart. Restore with `komrade restore FILE`.',
        examples('komrade backup /media/usb/alice.kbackup'),
      ].join('\n'),
    )
    .action(async (file: string | undefined, options: { force?: boolean }, command: Command) => {
      const paths = pathsOf(command);
      const target = resolve(file ?? defaultBackupFile(deps.now()));
      const force = options.force === true;
      // Said before any passphrase is typed.
      if (!force && existsSync(target)) {
        throw new KomradeError(
          'USAGE',
          `${target} already exists and was not touched; choose another file or pass --force to replace it.`,
        );
      }
      if (!existsSync(dirname(target))) {
        throw new KomradeError('USAGE', `The folder ${dirname(target)} does not exist.`);
      }
      const keystore = initializedKeystore(paths);
      const secrets = await unlock(keystore);
      let image: Uint8Array | undefined;
      try {
        const passphrase = await secondPassphrase(
          environment.backupPassphrase,
          'KOMRADE_BACKUP_PASSPHRASE',
          'passphrase for the backup file',
          true,
        );
        image = snapshotLocalStore(paths.store);
        const createdAt = deps.now();
        const sealed = await sealBackup(
          { keys: secrets.keys, storageKey: secrets.storageKey, store: image, createdAt },
          passphrase,
          { kdf: environment.kdf, onDeriving: deriving },
        );
        writeBackupFile(target, sealed, force);
        const result = { file: target, bytes: sealed.length, createdAt };
        output.result(result, () =>
          [
            `Wrote an encrypted backup of ${paths.home} to ${target}.`,
            'Keep it and its passphrase apart: together they are your identity.',
            'Letters fetched after this moment are not in it.',
          ].join('\n'),
        );
      } finally {
        secrets.storageKey.fill(0);
        image?.fill(0);
      }
    });

  program
    .command('restore')
    .description('bring back a backup into an empty komrade folder (e.g. on a new machine)')
    .argument('<file>', 'the file `komrade backup` wrote')
    .option(
      '--force',
      'restore into a folder that is not empty: its identity files are moved aside',
    )
    .addHelpText(
      'after',
      [
        '',
        'Asks for the backup passphrase (KOMRADE_BACKUP_PASSPHRASE in scripts), then for a new',
        'passphrase for the restored keystore (KOMRADE_PASSPHRASE in scripts), asked twice.',
        'Letters that arrived since the backup wait at the Operator: `komrade inbox` fetches them.',
        examples('komrade --home ~/.komrade restore /media/usb/alice.kbackup'),
      ].join('\n'),
    )
    .action(async (file: string, options: { force?: boolean }, command: Command) => {
      const paths = pathsOf(command);
      const force = options.force === true;
      const present = existsSync(paths.home) ? readdirSync(paths.home) : [];
      if (present.length > 0 && !force) {
        throw new KomradeError(
          'KEYSTORE_EXISTS',
          `${paths.home} is not empty; nothing was changed. Restore into an empty folder (--home), or pass --force to move its keystore and local store aside first.`,
        );
      }
      const bytes = readBackupFile(resolve(file));
      const backupPassphrase = await secondPassphrase(
        environment.backupPassphrase,
        'KOMRADE_BACKUP_PASSPHRASE',
        'passphrase of the backup file',
        false,
      );
      const contents = await openBackup(bytes, backupPassphrase, { onDeriving: deriving });
      try {
        if (environment.passphrase === undefined) {
          output.progress('Now a new passphrase for the keystore on this machine.');
        }
        const passphrase = await obtainPassphrase({
          fromEnv: environment.passphrase,
          input: deps.input,
          output,
          confirm: true,
        });
        const movedTo = force ? moveAside(paths, deps.now()) : undefined;
        let operator: string;
        try {
          mkdirSync(paths.home, { recursive: true, mode: 0o700 });
          writeLocalStoreImage(paths.store, contents.store);
          try {
            operator = checkRestoredStore(paths.store, contents.storageKey);
            const keystore = new FileKeystore(paths.keystore, { kdf: environment.kdf });
            await keystore.create(
              passphrase,
              { keys: contents.keys, storageKey: contents.storageKey },
              { onDeriving: deriving },
            );
          } catch (error) {
            // A store without its keystore is useless: remove the one just written.
            for (const suffix of ['', '-wal', '-shm']) {
              rmSync(paths.store + suffix, { force: true });
            }
            throw error;
          }
        } catch (error) {
          // Leave the folder as it was: the identity moved aside goes back.
          if (movedTo !== undefined) moveBack(paths, movedTo);
          throw error;
        }
        const result = {
          home: paths.home,
          operator,
          createdAt: contents.createdAt,
          ...(movedTo === undefined ? {} : { movedAside: movedTo }),
        };
        output.result(result, () =>
          [
            `Restored the backup of ${new Date(contents.createdAt).toISOString()} into ${paths.home}.`,
            `  operator: ${operator}`,
            ...(movedTo === undefined
              ? []
              : [`  the folder's previous keystore and store were moved to ${movedTo}`]),
            'Next: komrade inbox (letters that arrived since the backup wait at the Operator).',
          ].join('\n'),
        );
      } finally {
        contents.storageKey.fill(0);
        contents.store.fill(0);
      }
    });

  program
    .command('passphrase')
    .description('change the passphrase of your keystore (the old one, then the new one twice)')
    .addHelpText(
      'after',
      [
        '',
        'In scripts: KOMRADE_PASSPHRASE holds the old passphrase and KOMRADE_NEW_PASSPHRASE the',
        'new one. The keystore is replaced in one step: if komrade stops half-way, the old',
        'passphrase still works. Backups keep the passphrase they were written with.',
      ].join('\n'),
    )
    .action(async (_options: unknown, command: Command) => {
      const paths = pathsOf(command);
      const keystore = new FileKeystore(paths.keystore, { kdf: environment.kdf });
      if (!keystore.exists()) {
        throw new KomradeError('KEYSTORE_MISSING', `No keystore in ${paths.home}.`);
      }
      const oldPassphrase = await withPassphrase(
        { fromEnv: environment.passphrase, input: deps.input, output },
        async (passphrase) => {
          const secrets = await keystore.open(passphrase, { onDeriving: deriving });
          secrets.storageKey.fill(0);
          return passphrase;
        },
      );
      const newPassphrase = await secondPassphrase(
        environment.newPassphrase,
        'KOMRADE_NEW_PASSPHRASE',
        'new passphrase',
        true,
      );
      await keystore.changePassphrase(oldPassphrase, newPassphrase, { onDeriving: deriving });
      output.result(
        { home: paths.home, changed: true },
        () =>
          `Changed the passphrase of the keystore in ${paths.home}; the old one no longer opens it.`,
      );
    });
}

/**
 * The backup file's bytes.
 * @throws `USAGE` when it cannot be read, `BACKUP_INVALID` when it is far too large
 */
function readBackupFile(path: string): Uint8Array {
  try {
    if (statSync(path).size > MAX_BACKUP_BYTES) {
      throw new KomradeError('BACKUP_INVALID', `${path} is far too large to be a komrade backup.`);
    }
    return new Uint8Array(readFileSync(path));
  } catch (cause) {
    if (cause instanceof KomradeError) throw cause;
    throw new KomradeError('USAGE', `Cannot read the backup file ${path}.`, { cause });
  }
}

/**
 * Moves the home's identity files into a new `replaced-<time>` folder inside it: `--force` never
 * destroys keys, and the message says where they went. Returns that folder.
 */
function moveAside(paths: HomePaths, now: number): string | undefined {
  const present = IDENTITY_FILES(paths).filter((path) => existsSync(path));
  if (present.length === 0) return undefined;
  const folder = join(paths.home, `replaced-${new Date(now).toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(folder, { mode: 0o700 });
  for (const path of present) renameSync(path, join(folder, path.slice(paths.home.length + 1)));
  return folder;
}

/** Undoes {@link moveAside} after a failed restore. */
function moveBack(paths: HomePaths, folder: string): void {
  for (const path of IDENTITY_FILES(paths)) {
    const aside = join(folder, path.slice(paths.home.length + 1));
    if (existsSync(aside) && !existsSync(path)) renameSync(aside, path);
  }
  try {
    rmdirSync(folder); // Only when empty: anything left there stays.
  } catch {
    // Not empty: keep it.
  }
}

/**
 * Opens the restored store with the restored storage key (which also migrates an older one) and
 * returns its Operator address.
 * @throws `BACKUP_INVALID` when it cannot be opened or has no Operator address
 */
function checkRestoredStore(path: string, storageKey: Uint8Array): string {
  let operator: string | undefined;
  try {
    const store = new SqliteLocalStore(path, { storageKey });
    try {
      operator = store.operatorUrl();
      // Its sessions are behind the peers': archived, so the next letters start new ones.
      prepareRestoredStore(store);
    } finally {
      store.close();
    }
  } catch (cause) {
    throw new KomradeError('BACKUP_INVALID', 'The local store in the backup cannot be opened.', {
      cause,
    });
  }
  if (operator === undefined) {
    throw new KomradeError(
      'BACKUP_INVALID',
      'The local store in the backup has no Operator address.',
    );
  }
  return operator;
}
