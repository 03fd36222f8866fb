/**
 * What a chat adapter that holds identities is built from besides its platform's own parts, and
 * the bridge it builds from them: the working keys, the private data folder, the bridge store and
 * the engine. main.ts supplies production parts; tests supply a local Operator and Redis.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import { signKeysFromSeed, type KdfParams } from '../../common/crypto/index.js';
import type { Logger } from '../../common/logging/index.js';
import { noteSigner, type NoteSigner } from '../../common/transparency/index.js';
import { toBase64url, type AdapterKeyHolder } from '../../common/wire/index.js';
import type { ChatSurface } from '../chat-surface/chat-surface.js';
import { BridgeEngine } from '../engine/bridge-engine.js';
import { sqliteSessionFactory } from '../engine/sessions.js';
import { deriveBridgeKeys, type BridgeKeys } from '../identity-vault/master-key.js';
import { SqliteBridgeStore } from '../identity-vault/sqlite-bridge-store.js';
import { HttpOperatorClient, type AnonymousCircuits } from '../../client/index.js';
import { AeadEnvelopeCodec } from '../queue/envelope-codec.js';

/** The parts every chat adapter is built from. */
export interface BridgeHostDeps {
  readonly operatorUrl: string;
  /**
   * The dispatcher for one identity's Operator connections; `isolationKey` must map to its own
   * Tor circuit once the Tor transport is in.
   */
  readonly dispatcherFor: (isolationKey: string) => Dispatcher;
  /**
   * The circuits every identity's anonymous sends share (never an identity's own dispatcher): a
   * bot mixes its users' letters on them. Absent: each identity's client makes a pool of its own,
   * which only a loopback Operator allows (tests).
   */
  readonly anonymous?: AnonymousCircuits;
  /** The master key text (64 hex characters). */
  readonly masterKey: string;
  readonly dataDir: string;
  /** A Redis connection with `maxRetriesPerRequest: null`; not closed by the adapter. */
  readonly connection: Redis;
  readonly queuePrefix: string;
  readonly pollIntervalMs: number;
  /**
   * Identities per waiting request to the Operator (`mail.waitGroupSize`); absent, each identity's
   * mail is polled every `pollIntervalMs` instead.
   */
  readonly waitGroupSize?: number;
  readonly logger: Logger;
  readonly now: () => number;
  /** Argon2id cost of user backups. @defaultValue `KDF_MODERATE` */
  readonly backupKdf?: KdfParams;
  /** Where Redis is, for the log lines of an outage (an address without the password). */
  readonly redis?: string;
  /**
   * Check the registry log over every identity held at start, then this often (0: at start only;
   * `monitor.everyMinutes`). Absent: only when a user asks (`/verifyme`).
   */
  readonly registryMonitorEveryMs?: number;
}

/** The working keys, and the bridge store (`bridge.db`) in the data folder. */
export interface BridgeVault {
  readonly keys: BridgeKeys;
  readonly store: SqliteBridgeStore;
}

/**
 * Derives the working keys from the master key and opens the bridge store, making the data folder
 * (private) when absent.
 * @throws `CONFIG_INVALID` for a bad master key
 */
export function openBridgeVault(
  deps: Pick<BridgeHostDeps, 'masterKey' | 'dataDir' | 'now'>,
): BridgeVault {
  const keys = deriveBridgeKeys(deps.masterKey);
  mkdirSync(deps.dataDir, { recursive: true, mode: 0o700 });
  return { keys, store: new SqliteBridgeStore(join(deps.dataDir, 'bridge.db'), keys, deps.now) };
}

/**
 * The engine that drives `surface` for the identities in `vault`: each registration it makes
 * claims `keyHolder`, and each identity reaches the Operator through its own dispatcher.
 */
export function createBridgeEngine(
  deps: BridgeHostDeps,
  vault: BridgeVault,
  surface: ChatSurface,
  keyHolder: AdapterKeyHolder,
): BridgeEngine {
  const operatorFor = (isolationKey: string) =>
    new HttpOperatorClient({
      baseUrl: deps.operatorUrl,
      dispatcher: deps.dispatcherFor(isolationKey),
      ...(deps.anonymous === undefined ? {} : { anonymous: deps.anonymous }),
      now: deps.now,
    });
  return new BridgeEngine({
    store: vault.store,
    surface,
    sessions: sqliteSessionFactory({
      dataDir: deps.dataDir,
      operatorFor,
      keyHolder,
      now: deps.now,
    }),
    connection: deps.connection,
    queuePrefix: deps.queuePrefix,
    codec: new AeadEnvelopeCodec(vault.keys.queueKey),
    operatorFor,
    keyHolder,
    now: deps.now,
    logger: deps.logger,
    pollIntervalMs: deps.pollIntervalMs,
    ...(deps.waitGroupSize === undefined ? {} : { mailWatch: { groupSize: deps.waitGroupSize } }),
    operatorUrl: deps.operatorUrl,
    ...(deps.backupKdf === undefined ? {} : { backupKdf: deps.backupKdf }),
    ...(deps.redis === undefined ? {} : { redis: deps.redis }),
    ...(deps.registryMonitorEveryMs === undefined
      ? {}
      : {
          registryMonitor: {
            everyMs: deps.registryMonitorEveryMs,
            witness: witnessSigner(vault.keys.witnessSeed),
          },
        }),
  });
}

/**
 * The bot's witness key, derived from its master key: the same on every start, so what it
 * cosigned before a restart verifies with the key it cosigns with after.
 */
function witnessSigner(seed: Uint8Array): NoteSigner {
  const keys = signKeysFromSeed(seed);
  return noteSigner(`komrade.witness/${toBase64url(keys.signPublic)}`, keys);
}
