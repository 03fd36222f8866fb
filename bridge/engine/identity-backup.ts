/**
 * One chat user's identity as a backup file, in the same format as `komrade backup` (see
 * client/backup): the keys, the storage key and a copy of the identity's local store, sealed under
 * a passphrase the user chooses. The bot operator's master key plays no part in the file.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openBackup, prepareRestoredStore, sealBackup } from '../../client/index.js';
import { snapshotLocalStore, writeLocalStoreImage } from '../../client/index.js';
import type { IdentityKeys, KdfParams } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { verifyReceipt, type AdapterKeyHolder } from '../../common/wire/index.js';
import { SqliteLocalStore } from '../../client/index.js';
import type { OperatorClient } from '../../client/index.js';

/** What a bot holds for one identity that a backup carries. */
export interface IdentityToBackUp {
  readonly keys: IdentityKeys;
  readonly storageKey: Uint8Array;
  /** The identity's live local store file. */
  readonly localPath: string;
  /** The bot's Operator, written into the copy so `komrade restore` knows where to go. */
  readonly operatorUrl: string | undefined;
}

/** An identity read back from a backup, its local store already written to `localPath`. */
export interface RestoredIdentity {
  readonly keys: IdentityKeys;
  readonly storageKey: Uint8Array;
  readonly name: string;
}

const removeDatabase = (path: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
};

/**
 * Seals a backup of one identity under `passphrase`. The live store is copied (its follow list
 * included), and the copy (never the live store) gets the Operator address, so the CLI can use it
 * as is.
 */
export async function sealIdentityBackup(
  identity: IdentityToBackUp,
  passphrase: string,
  options: { readonly kdf?: KdfParams; readonly now: () => number },
): Promise<Uint8Array> {
  const temp = join(
    dirname(identity.localPath),
    `.backup-${nodeRandomBytes(6).toString('hex')}.db`,
  );
  let image = snapshotLocalStore(identity.localPath);
  try {
    writeLocalStoreImage(temp, image);
    image.fill(0);
    const copy = new SqliteLocalStore(temp, { storageKey: identity.storageKey });
    try {
      if (copy.operatorUrl() === undefined && identity.operatorUrl !== undefined) {
        copy.setOperatorUrl(identity.operatorUrl);
      }
    } finally {
      copy.close();
    }
    image = snapshotLocalStore(temp);
    return await sealBackup(
      {
        keys: identity.keys,
        storageKey: identity.storageKey,
        store: image,
        createdAt: options.now(),
      },
      passphrase,
      options.kdf === undefined ? {} : { kdf: options.kdf },
    );
  } finally {
    image.fill(0);
    removeDatabase(temp);
  }
}

/** What {@link openIdentityBackup} checks the backup against. */
export interface RestoreTarget {
  /** Where the identity's local store goes (must not exist). */
  readonly localPath: string;
  /** The kind of bot restoring it: its registration must already say that kind holds the keys. */
  readonly keyHolder: AdapterKeyHolder;
  /** This bot's Operator, asked who owns the name now. */
  readonly operator: OperatorClient;
}

/**
 * Opens a backup and writes its local store to `target.localPath`, after checking that it is a
 * registered identity whose name this bot's Operator still gives to these keys. On any failure
 * nothing is left behind.
 * @throws `BACKUP_INVALID` (wrong passphrase, damaged, unregistered, another kind of key holder,
 * another Operator, or the name now belongs to other keys); Operator failures as they are
 */
export async function openIdentityBackup(
  file: Uint8Array,
  passphrase: string,
  target: RestoreTarget,
): Promise<RestoredIdentity> {
  const contents = await openBackup(file, passphrase);
  let written = false;
  try {
    writeLocalStoreImage(target.localPath, contents.store);
    written = true;
    let local: SqliteLocalStore;
    try {
      local = new SqliteLocalStore(target.localPath, { storageKey: contents.storageKey });
    } catch (cause) {
      throw new KomradeError('BACKUP_INVALID', 'The local store in the backup cannot be opened.', {
        cause,
      });
    }
    let name: string;
    try {
      const own = local.ownReceipt();
      const pinned = local.pinnedOperator();
      if (own === undefined || pinned === undefined) {
        throw new KomradeError(
          'BACKUP_INVALID',
          'This backup holds an identity that never registered a name; there is nothing to restore.',
        );
      }
      if (!sameBytes(own.signKey, contents.keys.signPublic)) {
        throw new KomradeError('BACKUP_INVALID', 'The name in this backup is not for its keys.');
      }
      // A receipt claims who holds the keys; restoring elsewhere would make that claim false.
      if (own.keyHolder !== target.keyHolder) {
        throw new KomradeError(
          'BACKUP_INVALID',
          `@${own.name} was registered with its keys held ${own.keyHolder === 'self' ? 'by its owner' : `by a ${own.keyHolder} bot`}; this ${target.keyHolder} bot cannot take it over without misleading your komrades.`,
        );
      }
      const current = await target.operator.lookup(own.name).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'NAME_UNKNOWN') {
          throw new KomradeError(
            'BACKUP_INVALID',
            `@${own.name} is not registered at this bot's Operator (given up since, or made at another Operator).`,
          );
        }
        throw error;
      });
      if (
        !verifyReceipt(current, pinned.signKey) ||
        !sameBytes(current.signKey, contents.keys.signPublic)
      ) {
        throw new KomradeError(
          'BACKUP_INVALID',
          `This bot's Operator does not give @${own.name} to the keys in this backup (another Operator, or the name changed hands).`,
        );
      }
      name = own.name;
      // Its sessions are behind the peers': archived, so the next letters start new ones.
      prepareRestoredStore(local);
    } finally {
      local.close();
    }
    return { keys: contents.keys, storageKey: contents.storageKey, name };
  } catch (error) {
    if (written) removeDatabase(target.localPath);
    contents.storageKey.fill(0);
    throw error;
  } finally {
    contents.store.fill(0);
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);
