/** The PostgreSQL store: several Operators on one database. */
export { PostgresStore, type ExclusiveRound, type PostgresStoreOptions } from './postgres-store.js';
export { POSTGRES_MIGRATIONS, migratePostgres } from './migrations.js';
export {
  MAIL_CHANNEL,
  PostgresMailSignal,
  type PostgresMailSignalOptions,
} from './postgres-mail-signal.js';
