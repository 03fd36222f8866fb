/** The environment variables the CLI reads, read once in main.ts and passed down as plain data. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseSocksAddress, type SocksAddress } from '../../client/index.js';
import { KDF_INTERACTIVE, KDF_MODERATE, type KdfParams } from '../../common/crypto/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';

/** What the CLI takes from its environment. */
export interface CliEnvironment {
  /** `KOMRADE_HOME`: the home folder when `--home` is not given. */
  readonly home: string | undefined;
  /** `KOMRADE_PASSPHRASE`: the keystore passphrase, for scripts. */
  readonly passphrase: string | undefined;
  /** `KOMRADE_BACKUP_PASSPHRASE`: the backup file's own passphrase (`backup`, `restore`), for scripts. */
  readonly backupPassphrase: string | undefined;
  /** `KOMRADE_NEW_PASSPHRASE`: the new keystore passphrase for `komrade passphrase`, for scripts. */
  readonly newPassphrase: string | undefined;
  /**
   * `KOMRADE_KDF`: `moderate` (default) or `interactive`. The lighter `interactive` cost is meant
   * for tests only: it makes a stolen keystore cheaper to guess. It applies to `init` (and to the
   * files `backup`, `restore` and `passphrase` write); an existing keystore always opens with the
   * cost it was written with.
   */
  readonly kdf: KdfParams;
  /** The user's own home folder, for the default `~/.komrade`. */
  readonly userHome: string;
  /** `KOMRADE_TOR_SOCKS`: a running tor's SOCKS port, overriding the one saved at `init`. */
  readonly torSocks: SocksAddress | undefined;
  /** `KOMRADE_TOR_BINARY`: the tor to launch when `--tor-binary` is not given. */
  readonly torBinary: string | undefined;
  /**
   * `KOMRADE_TOR_EXTRA_TORRC`: a file of extra torrc lines for the tor komrade launches. For tests
   * only (pointing that tor at a private Tor network); never needed on the real network.
   */
  readonly torExtraTorrcFile: string | undefined;
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
  let torSocks: SocksAddress | undefined;
  const socksText = nonEmpty(env.KOMRADE_TOR_SOCKS);
  if (socksText !== undefined) {
    try {
      torSocks = parseSocksAddress(socksText);
    } catch (error) {
      const reason = isKomradeError(error) ? ` ${error.message}` : '';
      throw new KomradeError('USAGE', `KOMRADE_TOR_SOCKS is not usable.${reason}`);
    }
  }
  return Object.freeze({
    home: nonEmpty(env.KOMRADE_HOME),
    passphrase: env.KOMRADE_PASSPHRASE,
    backupPassphrase: env.KOMRADE_BACKUP_PASSPHRASE,
    newPassphrase: env.KOMRADE_NEW_PASSPHRASE,
    kdf: kdfName === 'interactive' ? KDF_INTERACTIVE : KDF_MODERATE,
    userHome,
    torSocks,
    torBinary: nonEmpty(env.KOMRADE_TOR_BINARY),
    torExtraTorrcFile: nonEmpty(env.KOMRADE_TOR_EXTRA_TORRC),
  });
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === '' ? undefined : value;

/** The files in a home folder. */
export interface HomePaths {
  readonly home: string;
  readonly keystore: string;
  readonly store: string;
  /** The DataDirectory of the tor komrade launches: kept, so later starts are fast. */
  readonly tor: string;
}

/** The home folder: `--home`, else `$KOMRADE_HOME`, else `~/.komrade`. */
export function homePaths(flag: string | undefined, environment: CliEnvironment): HomePaths {
  const home = resolve(flag ?? environment.home ?? join(environment.userHome, '.komrade'));
  return {
    home,
    keystore: join(home, 'keystore.json'),
    store: join(home, 'komrade.db'),
    tor: join(home, 'tor'),
  };
}
