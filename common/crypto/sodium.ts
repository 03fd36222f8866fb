/**
 * Loads libsodium once; every other crypto function assumes {@link initCrypto} has resolved.
 *
 * Two builds of the same library. Native libsodium (sodium-native) runs signatures, seals, key
 * exchange, MACs, AEAD, padding and Argon2id when it loads. libsodium's WebAssembly build is the
 * fallback for all of them, and the only build for ristretto255 (the OPRF tokens: sodium-native
 * has no ristretto API), for BLAKE2b (as fast or faster here) and for `sodium_unpad`
 * (sodium-native's ignores libsodium's error for a malformed padding). `KOMRADE_CRYPTO` chooses:
 * unset or `auto` is native with the WebAssembly fallback, `native` requires native, `wasm`
 * forces WebAssembly.
 */
import { createRequire } from 'node:module';
import sodium from 'libsodium-wrappers-sumo';
import type nativeSodium from 'sodium-native';
import { KomradeError } from '../errors/index.js';
import type { CryptoBackend, CryptoBackendName } from './backend.js';
import { nativeBackend } from './native-backend.js';
import { wasmBackend } from './wasm-backend.js';

/** What `KOMRADE_CRYPTO` (or {@link initCrypto}'s option) asks for. */
export type CryptoBackendChoice = CryptoBackendName | 'auto';

export interface InitCryptoOptions {
  /** Overrides `KOMRADE_CRYPTO`; tests use it to run the same vectors on both builds. */
  readonly backend?: CryptoBackendChoice;
}

let wasmReady = false;
let current: CryptoBackend | undefined;
let wasm: CryptoBackend | undefined;
let native: CryptoBackend | undefined;
let nativeLoadError: unknown;

function choiceFromEnv(): CryptoBackendChoice {
  const value = process.env['KOMRADE_CRYPTO'];
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'native' || value === 'wasm') return value;
  throw new KomradeError(
    'CONFIG_INVALID',
    `KOMRADE_CRYPTO must be "native", "wasm" or "auto", not ${JSON.stringify(value)}.`,
  );
}

/** sodium-native, or `undefined` when its prebuilt binary does not load on this machine. */
function loadNative(): CryptoBackend | undefined {
  if (native !== undefined || nativeLoadError !== undefined) return native;
  try {
    // A CommonJS addon: require keeps its load synchronous and its failure catchable here.
    const module = createRequire(import.meta.url)('sodium-native') as typeof nativeSodium;
    native = nativeBackend(module, sodium);
  } catch (error) {
    nativeLoadError = error;
  }
  return native;
}

/**
 * Loads libsodium: the WebAssembly build always (the OPRF needs it), native libsodium unless
 * `KOMRADE_CRYPTO=wasm`. Call once at process start (main.ts); later calls without an option
 * keep the first choice.
 * @returns the build that runs signatures and seals, for the start-up log
 * @throws KomradeError `CONFIG_INVALID` for an unknown `KOMRADE_CRYPTO`, or for
 * `KOMRADE_CRYPTO=native` when sodium-native does not load
 */
export async function initCrypto(options: InitCryptoOptions = {}): Promise<CryptoBackendName> {
  if (!wasmReady) {
    await sodium.ready;
    wasmReady = true;
  }
  if (current !== undefined && options.backend === undefined) return current.name;
  const choice = options.backend ?? choiceFromEnv();
  wasm ??= wasmBackend(sodium);
  if (choice === 'wasm') {
    current = wasm;
  } else {
    const loaded = loadNative();
    if (loaded === undefined && choice === 'native') {
      throw new KomradeError(
        'CONFIG_INVALID',
        'KOMRADE_CRYPTO=native, but sodium-native did not load on this machine.',
        { cause: nativeLoadError },
      );
    }
    current = loaded ?? wasm;
  }
  return current.name;
}

/** The build running signatures, seals, key exchange, MACs, AEAD, padding and Argon2id. */
export function backend(): CryptoBackend {
  if (current === undefined) throw new Error('crypto used before initCrypto() resolved');
  return current;
}

/** The name of {@link backend}'s build, or `undefined` before {@link initCrypto}. */
export function cryptoBackendName(): CryptoBackendName | undefined {
  return current?.name;
}

/**
 * The ready WebAssembly libsodium: for ristretto255 (common/crypto/oprf) and `sodium_unpad`
 * only; the rest goes through {@link backend}. Throws if {@link initCrypto} was never awaited.
 */
export function lib(): typeof sodium {
  if (!wasmReady) throw new Error('crypto used before initCrypto() resolved');
  return sodium;
}
