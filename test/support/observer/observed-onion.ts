/**
 * Publishes an onion service whose tor tells the service which circuit each stream came on
 * (`HiddenServiceExportCircuitID haproxy`). ADD_ONION cannot set that option, so the service is
 * configured with SETCONF on a service tor of the private network, as a torrc would.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { torrcQuote, type TorProcess } from '../../../tor/index.js';

/** The published service. */
export interface ObservedOnion {
  /** `http://<56 characters>.onion` */
  readonly url: string;
  readonly serviceId: string;
}

/**
 * Configures the service on `tor` (virtual port 80 → `127.0.0.1:targetPort`) and resolves once
 * its descriptor is uploaded (HS_DESC UPLOADED), i.e. when clients can start to find it.
 */
export async function publishObservedOnion(
  tor: TorProcess,
  targetPort: number,
  timeoutMs = 90_000,
): Promise<ObservedOnion> {
  const dir = join(tor.dataDir, 'observed-onion');
  const uploaded = new Set<string>();
  let onUpload: ((serviceId: string) => void) | undefined;
  const unsubscribe = await tor.control.subscribe(['HS_DESC'], (event) => {
    const [action, address] = event.body.split(' ');
    if (action !== 'UPLOADED' || address === undefined) return;
    uploaded.add(address);
    onUpload?.(address);
  });
  try {
    const port = torrcQuote(`80 127.0.0.1:${targetPort}`);
    await tor.control.command(
      `SETCONF HiddenServiceDir=${torrcQuote(dir)} HiddenServicePort=${port} HiddenServiceExportCircuitID=haproxy`,
    );
    const hostnameFile = join(dir, 'hostname');
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(hostnameFile)) {
      if (Date.now() > deadline) throw new Error('tor wrote no hostname for the observed onion');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const hostname = (await readFile(hostnameFile, 'utf8')).trim();
    const serviceId = hostname.replace(/\.onion$/, '');
    if (!/^[a-z2-7]{56}$/.test(serviceId)) throw new Error('tor wrote an odd onion hostname');
    if (!uploaded.has(serviceId)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => {
            reject(new Error(`the observed onion was not published within ${timeoutMs} ms`));
          },
          Math.max(0, deadline - Date.now()),
        );
        onUpload = (id) => {
          if (id !== serviceId) return;
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return { url: `http://${hostname}`, serviceId };
  } finally {
    await unsubscribe();
  }
}
