/**
 * Publishing the Operator as an Onionbalance instance: `ADD_ONION` has no such flag, so the service
 * is configured through the control port (SETCONF of `HiddenServiceDir`, `HiddenServicePort` and
 * `HiddenServiceOnionBalanceInstance=1`) with an `ob_config` file naming the front's address.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TorError, torrcQuote, type TorControl } from '../../tor/index.js';
import { isV3OnionAddress } from './onion-address.js';

/** An instance's service folder, handed to tor as its `HiddenServiceDir`. */
export interface OnionbalanceInstanceOptions {
  /** The front's address, `<56 characters>.onion`, written to `ob_config`. */
  readonly masterAddress: string;
  /** The `HiddenServiceDir`: created 0700; tor must be able to read and write it. */
  readonly serviceDir: string;
  readonly virtualPort: number;
  /** The loopback listener; an IPv6 host in brackets. */
  readonly target: { readonly host: string; readonly port: number };
}

/** What the instance was published as. */
export interface PublishedInstance {
  /** The instance's own 56-character service id (not the front's). */
  readonly serviceId: string;
  /** The key tor created, `ED25519-V3:<base64>`, only on the first publication: persist it. */
  readonly privateKey?: string;
}

/** Tor's on-disk secret key header (`hs_ed25519_secret_key`): 32 bytes, then the 64-byte key. */
const SECRET_HEADER = Buffer.concat([
  Buffer.from('== ed25519v1-secret: type0 =='),
  Buffer.alloc(3),
]);
const SECRET_FILE = 'hs_ed25519_secret_key';
const KEY_BLOB = /^ED25519-V3:([A-Za-z0-9+/]{86}(?:==)?)$/;
const HOSTNAME = /^([a-z2-7]{56})\.onion\s*$/;

/**
 * Writes `ob_config` and, when one is saved, the instance's key into `serviceDir`, then has tor
 * publish the service from it. Tor only reads an instance's key from that file, so the key is in
 * clear there while the service runs; {@link removeInstanceKey} takes it away again at stop, and
 * the encrypted onion key file stays the one lasting copy.
 *
 * @throws TOR_UNAVAILABLE when tor refuses the configuration (e.g. an invalid master address) or
 * writes no hostname
 */
export async function publishOnionbalanceInstance(
  control: TorControl,
  options: OnionbalanceInstanceOptions,
  savedKey: string | undefined,
): Promise<PublishedInstance> {
  if (!isV3OnionAddress(options.masterAddress)) {
    throw new TorError('the Onionbalance master address is not a v3 onion address', {
      transient: false,
    });
  }
  const dir = options.serviceDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Tor refuses a HiddenServiceDir readable by others.
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, 'ob_config'), `MasterOnionAddress ${options.masterAddress}\n`, {
    mode: 0o600,
  });
  // Tor derives the public key and hostname from the secret key; stale ones must not disagree.
  rmSync(join(dir, 'hs_ed25519_public_key'), { force: true });
  rmSync(join(dir, 'hostname'), { force: true });
  if (savedKey !== undefined) {
    const secret = keyBytes(savedKey);
    writeFileSync(join(dir, SECRET_FILE), Buffer.concat([SECRET_HEADER, secret]), { mode: 0o600 });
  } else {
    rmSync(join(dir, SECRET_FILE), { force: true });
  }
  const port = `${options.virtualPort} ${options.target.host}:${options.target.port}`;
  await control.command(
    `SETCONF HiddenServiceDir=${torrcQuote(dir)} HiddenServicePort=${torrcQuote(port)} HiddenServiceOnionBalanceInstance=1`,
  );
  let hostname: string;
  try {
    hostname = readFileSync(join(dir, 'hostname'), 'utf8');
  } catch (cause) {
    throw new TorError('tor wrote no hostname for the Onionbalance instance', {
      transient: false,
      cause,
    });
  }
  const serviceId = HOSTNAME.exec(hostname)?.[1];
  if (serviceId === undefined) {
    throw new TorError('tor wrote an unexpected hostname for the instance', { transient: false });
  }
  if (savedKey !== undefined) return { serviceId };
  const file = readFileSync(join(dir, SECRET_FILE));
  if (file.length !== 96 || !file.subarray(0, 32).equals(SECRET_HEADER)) {
    throw new TorError('tor wrote an instance key of an unknown form', { transient: false });
  }
  return { serviceId, privateKey: `ED25519-V3:${file.subarray(32).toString('base64')}` };
}

/**
 * Removes the instance from an attached tor (a launched one exits anyway). Never throws: the
 * connection may already be gone.
 */
export async function unpublishOnionbalanceInstance(control: TorControl): Promise<void> {
  // SETCONF with no value resets the whole HiddenService* group.
  await control.command('SETCONF HiddenServiceDir').catch(() => undefined);
}

/** Deletes the clear copy of the instance key tor needed while the service ran. */
export function removeInstanceKey(serviceDir: string): void {
  rmSync(join(serviceDir, SECRET_FILE), { force: true });
}

function keyBytes(privateKey: string): Buffer {
  const blob = KEY_BLOB.exec(privateKey)?.[1];
  const secret = blob === undefined ? undefined : Buffer.from(blob, 'base64');
  if (secret?.length !== 64) {
    throw new TorError('the saved onion key has an unknown form', { transient: false });
  }
  return secret;
}
