/** The Operator's config schema; the config type is derived from it, and every field has a default. */
import { z } from 'zod';
import {
  MAX_BATCH_LETTERS,
  MAX_FEED_PAGE,
  MAX_FETCH_LETTERS,
  MAX_MAIL_WAIT_MS,
  MAX_POST_DAYS,
  MAX_SEALED_LETTER_BYTES,
} from '../../common/wire/index.js';
import { isV3OnionAddress } from '../onion/onion-address.js';

const LOOPBACK = /^(localhost|::1|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const int = (min: number, max: number) => z.number().int().min(min).max(max);

const httpSchema = z.strictObject({
  /**
   * Address to bind. Only loopback addresses are accepted: the Operator is reached through Tor.
   * @defaultValue `'127.0.0.1'`
   */
  host: z
    .string()
    .regex(LOOPBACK, 'must be a loopback address (127.0.0.1, ::1 or localhost)')
    .default('127.0.0.1'),
  /** TCP port; 0 picks a free one. @defaultValue 8470 */
  port: int(0, 65_535).default(8470),
  /** Largest request body accepted (413 above). @defaultValue 4194304 */
  maxRequestBytes: int(1_024, 64 * 1024 * 1024).default(4_194_304),
  /**
   * Seconds a client may take to send a request body once its headers are in; a slower body is
   * cut with 408 and the connection closed (so a stalled client cannot hold a connection).
   * @defaultValue 30
   */
  bodyTimeoutSeconds: int(1, 300).default(30),
});

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

const storeSchema = z.strictObject({
  /**
   * `sqlite`: one Operator, its database in `dataDir`. `postgres`: several Operators may share one
   * PostgreSQL database (see docs/scaling.md). @defaultValue `'sqlite'`
   */
  kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
  /**
   * Folder for the Operator's encrypted keys (and, for `sqlite`, its database). Every Operator on
   * one PostgreSQL database holds copies of the same key files. @defaultValue `'./data'`
   */
  dataDir: z.string().min(1).default('./data'),
  /**
   * For `postgres`: the environment variable that holds the connection string
   * (`postgresql://…`). The string itself never goes in this file: it may carry a password.
   * @defaultValue `'KOMRADE_DATABASE_URL'`
   */
  databaseUrlEnv: z
    .string()
    .regex(ENV_NAME, 'must be an environment variable name (A-Z, 0-9, _)')
    .default('KOMRADE_DATABASE_URL'),
  /** For `postgres`: most connections this Operator opens to the database. @defaultValue 10 */
  maxConnections: int(1, 1_000).default(10),
});

const registrationSchema = z.strictObject({
  /** Proof-of-work difficulty for registration, in leading zero bits. @defaultValue 20 */
  powBits: int(0, 40).default(20),
});

const mailSchema = z.strictObject({
  /**
   * Largest sealed letter accepted. At least 4096: a session's first letter (PQXDH, a Kyber
   * ciphertext) always seals into the 4 KiB size class. @defaultValue 65536
   */
  maxSealedLetterBytes: int(4_096, MAX_SEALED_LETTER_BYTES).default(MAX_SEALED_LETTER_BYTES),
  /** Most letters in one send request. @defaultValue 64 */
  maxBatchLetters: int(1, MAX_BATCH_LETTERS).default(64),
  /** Most undelivered letters one recipient may hold. @defaultValue 5000 */
  mailboxQuotaLetters: int(1, 10_000_000).default(5_000),
  /** Days an undelivered letter is kept before it is deleted. @defaultValue 21 */
  expireDays: int(1, 3_650).default(21),
  /** Most letters one fetch returns. @defaultValue 200 */
  fetchLetters: int(1, MAX_FETCH_LETTERS).default(200),
  /**
   * Longest a wait for mail (`POST /v1/mail/wait`) is held open; longer asks are capped. Keep it
   * under the idle timeouts of proxies between clients and the Operator. @defaultValue 55
   */
  maxWaitSeconds: int(1, MAX_MAIL_WAIT_MS / 1_000).default(55),
});

const tokensSchema = z.strictObject({
  /**
   * Anonymous tokens one registered komrade may obtain per epoch (one UTC day); each pays for one
   * letter sent. A post to followers costs one per follower. @defaultValue 500
   */
  perDay: int(1, 1_000_000).default(500),
});

const prekeysSchema = z.strictObject({
  /** Most one-time prekeys held for one komrade; an upload beyond is refused. @defaultValue 500 */
  maxOneTime: int(0, 100_000).default(500),
  /**
   * Most one-time prekeys of one komrade handed out per hour; bundles beyond come without one
   * (first contact then uses the last-resort Kyber prekey), so nobody drains them cheaply.
   * @defaultValue 20
   */
  oneTimePerHour: int(0, 100_000).default(20),
});

const feedSchema = z.strictObject({
  /** Longest lifetime an author may choose for a post. @defaultValue 30 */
  maxPostDays: int(1, MAX_POST_DAYS).default(30),
  /** Most posts in one feed page. @defaultValue 50 */
  pageSize: int(1, MAX_FEED_PAGE).default(50),
});

const sweeperSchema = z.strictObject({
  /**
   * Seconds between sweeps of expired letters, posts and nonces, and of the spent tokens and
   * issue counts of ended token epochs. @defaultValue 60
   */
  intervalSeconds: int(1, 86_400).default(60),
});

const torControlSchema = z.union(
  [
    z.strictObject({
      /** TCP control port of a tor on this machine (127.0.0.1). */
      port: int(1, 65_535),
    }),
    z.strictObject({
      /** Path of a tor's Unix control socket. */
      socket: z.string().min(1),
    }),
  ],
  { error: 'must be null, { port: <number> } or { socket: <path> }' },
);

const torSchema = z.strictObject({
  /** The tor binary the Operator launches (a name on PATH or a path). @defaultValue `'tor'` */
  binary: z.string().min(1).default('tor'),
  /**
   * `null`: launch a private tor (DataDirectory `<dataDir>/tor`, control port with cookie auth).
   * `{ port }` or `{ socket }`: attach to a tor that is already running there instead.
   * @defaultValue `null`
   */
  control: torControlSchema.nullable().default(null),
  /** Cookie file of the attached tor; `null` uses the one its control port names. @defaultValue `null` */
  cookieFile: z.string().min(1).nullable().default(null),
  /** How long a launched tor may take to bootstrap before the start fails. @defaultValue 180 */
  bootstrapTimeoutSeconds: int(5, 3_600).default(180),
  /**
   * While a launched tor bootstraps, seconds without progress before the Operator says it is
   * stalled (repeated once per this interval, until it moves or the start times out).
   * @defaultValue 30
   */
  bootstrapStallSeconds: int(5, 3_600).default(30),
  /**
   * More torrc lines for the launched tor. For testing only (a private Tor network's
   * `DirAuthority` lines); production Operators leave it empty. @defaultValue `[]`
   */
  extraTorrcLines: z
    .array(z.string().regex(/^[^\r\n\0]*$/, 'must be a single line'))
    .max(200)
    .default([]),
  /** The port clients use on the `.onion` address. @defaultValue 80 */
  onionVirtualPort: int(1, 65_535).default(80),
  /**
   * `{ masterAddress }`: publish this Operator as an Onionbalance instance of the front whose
   * address clients use (docs/scaling.md), from the HiddenServiceDir `<dataDir>/onionbalance-instance`
   * (an attached tor must run as the Operator's user to read it, and the Operator replaces that
   * tor's other HiddenService* lines). `null`: an ordinary onion service. @defaultValue `null`
   */
  onionbalance: z
    .strictObject({
      /** The front's address, `<56 characters>.onion`. */
      masterAddress: z
        .string()
        .refine(isV3OnionAddress, 'must be a v3 onion address (<56 characters>.onion)'),
    })
    .nullable()
    .default(null),
});

const logSchema = z.strictObject({
  /** @defaultValue `'info'` */
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

/**
 * The Operator's config file. Every object is strict (unknown keys are errors) and every field has
 * a default, so an empty file is a valid config.
 */
export const operatorConfigSchema = z.strictObject({
  http: httpSchema.prefault({}),
  store: storeSchema.prefault({}),
  registration: registrationSchema.prefault({}),
  mail: mailSchema.prefault({}),
  tokens: tokensSchema.prefault({}),
  prekeys: prekeysSchema.prefault({}),
  feed: feedSchema.prefault({}),
  sweeper: sweeperSchema.prefault({}),
  tor: torSchema.prefault({}),
  log: logSchema.prefault({}),
});

/** The validated, deep-frozen Operator config. */
export type OperatorConfig = Readonly<z.output<typeof operatorConfigSchema>>;
