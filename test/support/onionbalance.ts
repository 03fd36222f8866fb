/**
 * An Onionbalance front on a private Tor network: a master key, the YAML config naming the
 * instances, `/usr/sbin/onionbalance --is-testnet` run against a tor of the network, and a way to
 * wait until clients can fetch the master descriptor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TorControl, TorProcess } from '../../tor/index.js';
import type { PrivateTorNetwork } from './tor-network.js';

/** Debian's onionbalance 0.2.2. */
export const ONIONBALANCE_BINARY = '/usr/sbin/onionbalance';
/** Characters of onionbalance's output kept for failure messages. */
const OUTPUT_LIMIT = 200_000;

/** A front's identity: the PEM key Onionbalance reads and the address it publishes. */
export interface MasterKey {
  /** PKCS#8 PEM of an ed25519 key (Onionbalance's "OBv3" key format). */
  readonly pem: string;
  /** `<56 characters>.onion`. */
  readonly address: string;
}

/** A fresh ed25519 key and its v3 onion address (rend-spec-v3 §6: pubkey, checksum, version). */
export function generateMasterKey(): MasterKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  // The raw key is the last 32 bytes of the SubjectPublicKeyInfo.
  const pub = spki.subarray(spki.length - 32);
  return {
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    address: onionAddress(pub),
  };
}

/** `<base32(pubkey | checksum | 0x03)>.onion`. */
export function onionAddress(publicKey: Uint8Array): string {
  const version = Buffer.from([3]);
  const checksum = createHash('sha3-256')
    .update(Buffer.concat([Buffer.from('.onion checksum'), publicKey, version]))
    .digest()
    .subarray(0, 2);
  return `${base32(Buffer.concat([publicKey, checksum, version]))}.onion`;
}

function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet.charAt((value << (5 - bits)) & 31);
  return out;
}

/** Options for {@link startOnionbalanceFront}. */
export interface OnionbalanceFrontOptions {
  readonly network: PrivateTorNetwork;
  readonly masterKey: MasterKey;
  /** The instances' own addresses, `<56 characters>.onion`. */
  readonly instances: readonly string[];
  /** A tor of the network to drive; a new one (no SOCKS port) when absent. */
  readonly tor?: TorProcess;
  /** @defaultValue `'info'` */
  readonly verbosity?: 'debug' | 'info' | 'warning';
}

/** A running front. */
export interface OnionbalanceFront {
  readonly address: string;
  readonly tor: TorProcess;
  readonly pid: number;
  /** Everything onionbalance printed so far. */
  output(): string;
  /** Stops onionbalance (and the tor, when this harness started it), deletes its folder. */
  stop(): Promise<void>;
}

/**
 * Writes the key and config into a temporary folder and starts onionbalance in test-network mode
 * (its timers assume the network votes every 20 s: start the network with
 * `votingIntervalSeconds: 20`). Resolves once onionbalance runs; the master descriptor follows
 * its 45 s start delay: see {@link waitForDescriptor}.
 */
export async function startOnionbalanceFront(
  options: OnionbalanceFrontOptions,
): Promise<OnionbalanceFront> {
  const dir = await mkdtemp(join(tmpdir(), 'komrade-onionbalance-'));
  const ownsTor = options.tor === undefined;
  let tor: TorProcess | undefined = options.tor;
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    if (ownsTor) await tor?.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };
  try {
    tor ??= await options.network.startServiceTor();
    const keyFile = join(dir, 'master.key');
    await writeFile(keyFile, options.masterKey.pem, { mode: 0o600 });
    const configFile = join(dir, 'config.yaml');
    await writeFile(
      configFile,
      stringify({
        services: [
          {
            key: keyFile,
            instances: options.instances.map((address, i) => ({ address, name: `node${i + 1}` })),
          },
        ],
      }),
      { mode: 0o600 },
    );
    // launchTor writes `PORT=127.0.0.1:<port>` here (ControlPortWriteToFile).
    const portLine = await readFile(join(tor.dataDir, 'control-port'), 'utf8');
    const port = /PORT=127\.0\.0\.1:(\d+)/.exec(portLine)?.[1];
    if (port === undefined) throw new Error(`cannot read the front tor's control port`);
    let output = '';
    const spawned = spawn(
      ONIONBALANCE_BINARY,
      [
        '--is-testnet',
        '-c',
        configFile,
        '-i',
        '127.0.0.1',
        '-p',
        port,
        '-v',
        options.verbosity ?? 'info',
      ],
      // Unbuffered, so the log is there when a test fails.
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    );
    child = spawned;
    for (const stream of [spawned.stdout, spawned.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        // Its debug log can loop (see docs/scaling.md): keep the tail only.
        output = (output + chunk).slice(-OUTPUT_LIMIT);
      });
    }
    const reap = (): void => {
      spawned.kill('SIGKILL');
    };
    process.once('exit', reap);
    spawned.once('exit', () => process.removeListener('exit', reap));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 3_000);
      spawned.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      spawned.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`onionbalance exited with code ${String(code)}:\n${output}`));
      });
    });
    const pid = spawned.pid;
    if (pid === undefined) throw new Error('onionbalance has no pid');
    return {
      address: options.masterKey.address,
      tor,
      pid,
      output: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Asks `control`'s tor to fetch `address`'s descriptor (HSFETCH) every `everyMs` until one
 * arrives; resolves with the time it took.
 *
 * @throws Error after `timeoutMs`
 */
export async function waitForDescriptor(
  control: TorControl,
  address: string,
  timeoutMs: number,
  everyMs = 3_000,
): Promise<number> {
  const serviceId = address.replace(/\.onion$/, '');
  const started = Date.now();
  // The event listener sets these; read through `done()` so the compiler does not keep a narrowing.
  const seen = { received: false, last: '' };
  const done = (): boolean => seen.received;
  const unsubscribe = await control.subscribe(['HS_DESC'], (event) => {
    const [action, onion] = event.body.split(' ');
    if (onion !== serviceId) return;
    seen.last = event.body.split(' ').slice(0, 2).join(' ');
    if (action === 'RECEIVED') seen.received = true;
  });
  try {
    while (!done()) {
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `no descriptor for ${address} after ${timeoutMs} ms (last event: ${seen.last || 'none'})`,
        );
      }
      await control.command(`HSFETCH ${serviceId}`).catch(() => undefined);
      const until = Date.now() + everyMs;
      while (!done() && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    return Date.now() - started;
  } finally {
    await unsubscribe().catch(() => undefined);
  }
}
