/** The environment variables the CLI reads, read once in main.ts and passed down as plain data. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KDF_INTERACTIVE, KDF_MODERATE, type KdfParams } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';

/** What the CLI takes from its environment. */
export interface CliEnvironment {
  /** `KOMRADE_HOME`: the home folder when `--home` is not given. */
  readonly home: string | undefined;
  /** `KOMRADE_PASSPHRASE`: the keystore passphrase, for scripts. */
  readonly passphrase: string | undefined;
  /**
   * `KOMRADE_KDF`: `moderate` (default) or `interactive`. The lighter `interactive` cost is meant
   * for tests only: it makes a stolen keystore cheaper to guess. It applies to `init`; an existing
   * keystore always opens with the cost it was written with.
   */
  readonly kdf: KdfParams;
  /** The user's own home folder, for the default `~/.komrade`. */
  readonly userHome: string;
}

/**
 * Reads the CLI's variables from `env`.
 * @throws `USAGE` for an unknown `KOMRADE_KDF`
 */
export function readEnvironment(env: NodeJS.ProcessEnv, userHome = homedir()): CliEnvironment {
  const kdfName = env.KOMRADE_KDF ?? 'moderate';
  if (kdfName !== 'moderate' && kdfName !== 'interactive') {
    throw new KomradeError(
      'USAGE',
      'KOMRADE_KDF must be "moderate" or "interactive" (tests only).',
    );
  }
  return Object.freeze({
    home: env.KOMRADE_HOME === '' ? undefined : env.KOMRADE_HOME,
    passphrase: env.KOMRADE_PASSPHRASE,
    kdf: kdfName === 'interactive' ? KDF_INTERACTIVE : KDF_MODERATE,
    userHome,
  });
}

/** The files in a home folder. */
export interface HomePaths {
  readonly home: string;
  readonly keystore: string;
  readonly store: string;
}

/** The home folder: `--home`, else `$KOMRADE_HOME`, else `~/.komrade`. */
export function homePaths(flag: string | undefined, environment: CliEnvironment): HomePaths {
  const home = resolve(flag ?? environment.home ?? join(environment.userHome, '.komrade'));
  return { home, keystore: join(home, 'keystore.json'), store: join(home, 'komrade.db') };
}
