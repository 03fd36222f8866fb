/** @module Ratchet: pairwise forward-secret sessions (libsignal) for letters and envelopes. */
export {
  Ratchet,
  type RatchetDeps,
  type RatchetMessage,
  type RatchetOpened,
  type RatchetPeer,
} from './ratchet.js';
export { prepareRestoredStore } from './after-restore.js';
export { RATCHET_KEY_BYTES, ratchetIdentityOf, ratchetKeyOf } from './ratchet-identity.js';
export { ONE_TIME_PREKEY_BATCH, ONE_TIME_PREKEY_LOW_WATER } from './prekey-keeper.js';
export type {
  KyberUse,
  OpenedRatchetLetter,
  OwnPrekeyKind,
  RatchetChanges,
  RatchetStore,
} from './ratchet-store.js';
