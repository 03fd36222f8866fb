/**
 * The config every chat adapter that holds identities shares (Telegram, Discord): the Operator,
 * Tor, the master key, Redis, the data folder, waiting for mail and logging. An adapter's schema
 * spreads {@link adapterConfigShape} beside its own platform section; every key stays strict.
 */
import { z } from 'zod';
import { checkOperatorUrl, checkSocksAddress } from '../../client/index.js';
import { MAX_WAIT_MAILBOXES } from '../../common/wire/index.js';

/**
 * Where a secret comes from: an environment variable, or a file (first line, trimmed). Secrets are
 * never in the YAML itself.
 * @param defaultEnv - the variable read when the YAML says nothing
 */
export const secretSource = (defaultEnv: string) =>
  z
    .strictObject({
      env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]*$/)
        .optional(),
      file: z.string().min(1).optional(),
    })
    .refine((s) => s.env === undefined || s.file === undefined, 'give env or file, not both')
    .default({ env: defaultEnv });

/** A validated {@link secretSource}. */
export type SecretSource = z.output<ReturnType<typeof secretSource>>;

/** The defaults that differ between adapters. */
export interface AdapterConfigDefaults {
  /** The environment variable holding the master key, e.g. `KOMRADE_DISCORD_MASTER_KEY`. */
  readonly masterKeyEnv: string;
  /** The Redis queue prefix, e.g. `komrade-discord`. */
  readonly queuePrefix: string;
}

/** The shared keys of an adapter's config schema (documented in config/*.example.yaml). */
export function adapterConfigShape(defaults: AdapterConfigDefaults) {
  return {
    operator: z.strictObject({ url: z.url() }),
    tor: z
      .strictObject({
        socksHost: z.string().min(1).default('127.0.0.1'),
        socksPort: z.number().int().min(1).max(65_535).default(9050),
      })
      .optional(),
    masterKey: secretSource(defaults.masterKeyEnv),
    redis: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(1).max(65_535).default(6379),
        db: z.number().int().min(0).max(15).default(0),
        password: secretSource('KOMRADE_REDIS_PASSWORD'),
        queuePrefix: z
          .string()
          .regex(/^[a-z0-9-]{1,64}$/)
          .default(defaults.queuePrefix),
      })
      .default({
        host: '127.0.0.1',
        port: 6379,
        db: 0,
        password: { env: 'KOMRADE_REDIS_PASSWORD' },
        queuePrefix: defaults.queuePrefix,
      }),
    store: z.strictObject({ dataDir: z.string().min(1) }),
    mail: z
      .strictObject({
        // How often each identity is fetched when the Operator cannot wait (an older Operator).
        pollIntervalSeconds: z.number().min(0.1).max(3600).default(30),
        // Identities per waiting request: 1 = one circuit each (unlinkable), more = cheaper.
        waitGroupSize: z.number().int().min(1).max(MAX_WAIT_MAILBOXES).default(MAX_WAIT_MAILBOXES),
      })
      .default({ pollIntervalSeconds: 30, waitGroupSize: MAX_WAIT_MAILBOXES }),
    monitor: z
      .strictObject({
        // How often the bot checks the whole registry log over its identities (0: at start only).
        everyMinutes: z.number().min(0).max(10_080).default(60),
      })
      .default({ everyMinutes: 60 }),
    log: z
      .strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') })
      .default({ level: 'info' }),
  };
}

/** The validated shared part of an adapter's config. */
export type AdapterConfig = z.output<z.ZodObject<ReturnType<typeof adapterConfigShape>>>;

/**
 * Adds the rules that span the shared keys to an adapter's schema: `operator.url` must be an
 * onion address or on this machine, an onion address needs the `tor` section (without it every
 * request would fail, and users would only hear that the Operator cannot be reached), and Tor's
 * SOCKS port must be on this machine.
 * Messages name the field and the fix, never the URL.
 * @example
 * ```ts
 * const schema = withAdapterRules(z.strictObject({ ...adapterConfigShape(defaults), mine }));
 * ```
 */
export function withAdapterRules<
  S extends z.ZodType<{
    operator: { url: string };
    tor?: { socksHost: string; socksPort: number } | undefined;
  }>,
>(schema: S): S {
  return schema.superRefine((config, ctx) => {
    if (config.tor !== undefined) {
      try {
        checkSocksAddress({ host: config.tor.socksHost, port: config.tor.socksPort });
      } catch {
        ctx.addIssue({
          code: 'custom',
          path: ['tor', 'socksHost'],
          message:
            'must be this machine (127.0.0.1, localhost or ::1): the onion address would reach ' +
            'any other host unencrypted',
        });
      }
    }
    let kind: 'onion' | 'loopback';
    try {
      kind = checkOperatorUrl(config.operator.url).kind;
    } catch {
      ctx.addIssue({
        code: 'custom',
        path: ['operator', 'url'],
        message:
          'must be an onion address (http://….onion) or on this machine (http://127.0.0.1:PORT); ' +
          'Komrade reaches its Operator through nothing else',
      });
      return;
    }
    if (kind === 'onion' && config.tor === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['operator', 'url'],
        message:
          'is an onion address, so the bot reaches it only through Tor: add a tor section ' +
          '(tor.socksPort, default 9050) pointing at a system tor (apt-get install tor)',
      });
    }
  });
}
