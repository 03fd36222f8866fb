/** Loads libsodium once; every other crypto function assumes {@link initCrypto} has resolved. */
import sodium from 'libsodium-wrappers-sumo';

let loaded = false;

/** Resolves when libsodium's WebAssembly is ready. Call once at process start (main.ts). */
export async function initCrypto(): Promise<void> {
  await sodium.ready;
  loaded = true;
}

/** The ready libsodium instance; throws if {@link initCrypto} was never awaited. */
export function lib(): typeof sodium {
  if (!loaded) throw new Error('crypto used before initCrypto() resolved');
  return sodium;
}
