/**
 * The Operator's Onionbalance instance mode against a real tor (offline: `DisableNetwork 1`, so
 * no network is needed): the service set up through SETCONF with `ob_config`, its key kept in
 * the encrypted onion key file and the same instance address after a restart, the clear key file
 * tor needs removed at stop, and hostile master addresses refused.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKomradeError } from '../../common/errors/index.js';
import { silentLogger } from '../../common/logging/index.js';
import { operatorConfigSchema } from '../../operator/config/operator-config.js';
import { KeyProtection } from '../../operator/keys/key-protection.js';
import { AttachedTorConnector } from '../../operator/onion/attached-tor-connector.js';
import { EncryptedOnionKeyFile } from '../../operator/onion/onion-key-file.js';
import { publishOnionbalanceInstance } from '../../operator/onion/onionbalance-instance.js';
import { TorOnionService } from '../../operator/onion/tor-onion-service.js';
import { launchTor, type TorProcess } from '../../tor/index.js';
import { generateMasterKey } from '../support/onionbalance.js';

const kdf = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };
const master = generateMasterKey();
let tor: TorProcess | undefined;
const temps: string[] = [];

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-ob-instance-'));
  temps.push(dir);
  return dir;
}

beforeAll(async () => {
  tor = await launchTor({
    socksPort: false,
    waitForBootstrap: false,
    extraTorrcLines: ['DisableNetwork 1'],
  });
}, 30_000);

afterAll(async () => {
  await tor?.stop();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function theTor(): TorProcess {
  if (tor === undefined) throw new Error('tor did not start');
  return tor;
}

async function instanceService(dataDir: string, masterAddress = master.address) {
  const tor = theTor();
  const port = Number((await readFile(join(tor.dataDir, 'control-port'), 'utf8')).split(':')[1]);
  return new TorOnionService({
    connector: new AttachedTorConnector({ control: { port }, logger: silentLogger }),
    keys: new EncryptedOnionKeyFile({
      dataDir,
      protection: new KeyProtection({
        dataDir,
        passphrase: 'instance test',
        logger: silentLogger,
        kdf,
      }),
      logger: silentLogger,
    }),
    target: { host: '127.0.0.1', port: 8470 },
    onionbalance: { masterAddress, serviceDir: join(dataDir, 'onionbalance-instance') },
    logger: silentLogger,
  });
}

describe('Onionbalance instance mode', () => {
  it('publishes from its own folder, keeps its address across restarts, and leaves no clear key', async () => {
    const dataDir = temp();
    const serviceDir = join(dataDir, 'onionbalance-instance');
    const first = await instanceService(dataDir);
    const published = await first.start();
    expect(published.hostname).toMatch(/^[a-z2-7]{56}\.onion$/);
    expect(published.hostname).not.toBe(master.address);
    expect(published.powDefenses).toBe(false);
    expect(readFileSync(join(serviceDir, 'ob_config'), 'utf8')).toBe(
      `MasterOnionAddress ${master.address}\n`,
    );
    expect(statSync(serviceDir).mode & 0o777).toBe(0o700);
    const options = (await theTor().control.command('GETCONF HiddenServiceOptions')).lines.map(
      (line) => line.text,
    );
    expect(options).toContain('HiddenServiceOnionBalanceInstance=1');
    expect(options).toContain('HiddenServicePort=80 127.0.0.1:8470');
    // The key is sealed at rest, never in clear in the sealed file.
    const sealed = readFileSync(join(dataDir, 'onion-key.json'), 'utf8');
    const clear = readFileSync(join(serviceDir, 'hs_ed25519_secret_key')).subarray(32);
    expect(sealed).not.toContain(clear.toString('base64'));
    await first.stop();
    expect(existsSync(join(serviceDir, 'hs_ed25519_secret_key'))).toBe(false);
    // Stopping took the service off the attached tor.
    const after = (await theTor().control.command('GETCONF HiddenServiceOptions')).lines.map(
      (line) => line.text,
    );
    expect(after.join('\n')).not.toContain('HiddenServiceDir=');

    const again = await instanceService(dataDir);
    expect((await again.start()).hostname).toBe(published.hostname);
    await again.stop();
  });

  it('refuses a master address that is not a v3 onion address, in the config and at tor', async () => {
    for (const bad of [
      'example.com',
      `${'a'.repeat(56)}.onion\nHiddenServiceDir /tmp`,
      `${'A'.repeat(56)}.onion`,
      // Well-formed but with a wrong checksum (tor would take it and never be reachable).
      `${'a'.repeat(56)}.onion`,
      // One character changed in a real address.
      `${master.address.startsWith('a') ? 'b' : 'a'}${master.address.slice(1)}`,
    ]) {
      expect(
        operatorConfigSchema.safeParse({ tor: { onionbalance: { masterAddress: bad } } }).success,
      ).toBe(false);
      const refused = await publishOnionbalanceInstance(
        theTor().control,
        {
          masterAddress: bad,
          serviceDir: join(temp(), 'ob'),
          virtualPort: 80,
          target: { host: '127.0.0.1', port: 8470 },
        },
        undefined,
      ).catch((error: unknown) => error);
      expect(isKomradeError(refused, 'TOR_UNAVAILABLE')).toBe(true);
    }
    // The config takes a real address.
    expect(
      operatorConfigSchema.safeParse({ tor: { onionbalance: { masterAddress: master.address } } })
        .success,
    ).toBe(true);
  });
});
