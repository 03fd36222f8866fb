/**
 * @module Backup: one passphrase-encrypted file holding a komrade's keys and local store, for the
 * CLI and for the bots to offer the same.
 */
export {
  BACKUP_HEADER_BYTES,
  BACKUP_VERSION,
  MAX_BACKUP_BYTES,
  openBackup,
  sealBackup,
  type BackupContents,
  type SealBackupOptions,
} from './backup-file.js';
export { snapshotLocalStore, writeBackupFile, writeLocalStoreImage } from './local-store-image.js';
