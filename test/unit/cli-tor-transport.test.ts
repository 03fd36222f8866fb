/** The CLI's transport choice: direct on loopback, a configured SOCKS port, or its own tor. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkOperatorUrl } from '../../client/index.js';
import { Output } from '../../adapters/cli/output.js';
import {
  transportOpener,
  type LaunchOwnTorOptions,
  type TransportRequest,
} from '../../adapters/cli/tor-transport.js';
import { KomradeError } from '../../common/errors/index.js';

const ONION = `http://${'b'.repeat(56)}.onion`;
let dir: string;
let err: string[];
let launches: LaunchOwnTorOptions[];
let stopped: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-cli-tor-'));
  err = [];
  launches = [];
  stopped = 0;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function opener(options: { extraTorrcFile?: string; fail?: Error } = {}) {
  const output = new Output({
    stdout: { write: () => undefined },
    stderr: { write: (t: string) => err.push(t) },
  });
  return transportOpener({
    output,
    extraTorrcFile: options.extraTorrcFile,
    now: () => 0,
    launchTor: (launch) => {
      launches.push(launch);
      if (options.fail !== undefined) return Promise.reject(options.fail);
      for (const [percent, summary] of [
        [5, 'Connecting to a relay'],
        [50, 'Loading relay descriptors'],
        [100, 'Done'],
      ] as const) {
        launch.onProgress({ percent, summary });
      }
      return Promise.resolve({
        socksPort: 9050,
        stop: () => {
          stopped++;
          return Promise.resolve();
        },
      });
    },
  });
}

const request = (url: string, extra: Partial<TransportRequest> = {}): TransportRequest => ({
  destination: checkOperatorUrl(url),
  socks: undefined,
  isolationKey: 'key',
  torDataDir: join(dir, 'tor'),
  torBinary: undefined,
  ...extra,
});

describe('the CLI transport', () => {
  it('connects directly to a loopback Operator, without tor', async () => {
    const transport = await opener()(request('http://127.0.0.1:8080'));
    expect(transport.via).toBe('direct');
    await transport.close();
    expect(launches).toEqual([]);
  });

  it('uses a configured SOCKS port for an onion Operator, without launching tor', async () => {
    const socks = { host: '127.0.0.1', port: 9150 };
    const transport = await opener()(request(ONION, { socks }));
    expect(transport.via).toBe('tor-socks');
    await transport.close();
    expect(launches).toEqual([]);
  });

  it('launches its own tor in <home>/tor, shows bootstrap progress, and stops it on close', async () => {
    const torrc = join(dir, 'private-network.torrc');
    writeFileSync(torrc, '# test network\nTestingTorNetwork 1\n\nDirAuthority a b c\n');
    const transport = await opener({ extraTorrcFile: torrc })(
      request(ONION, { torBinary: '/opt/tor/bin/tor' }),
    );
    expect(transport.via).toBe('own-tor');
    expect(launches).toHaveLength(1);
    expect(launches[0]).toMatchObject({
      torPath: '/opt/tor/bin/tor',
      dataDir: join(dir, 'tor'),
      extraTorrcLines: ['TestingTorNetwork 1', 'DirAuthority a b c'],
    });
    const text = err.join('');
    expect(text).toContain('KOMRADE_TOR_EXTRA_TORRC is set');
    expect(text).toContain('Starting Tor for the first time');
    expect(text).toContain('Tor: bootstrapped 50% (Loading relay descriptors)\n');
    expect(text).toContain('Tor: bootstrapped 100% (Done)\n');
    expect(stopped).toBe(0);
    await transport.close();
    expect(stopped).toBe(1);
  });

  it('refuses to send when no tor can be started, saying nothing was sent', async () => {
    const missing = new KomradeError('TOR_UNAVAILABLE', 'the tor binary was not found');
    const error = (await opener({ fail: missing })(request(ONION)).catch((e: unknown) => e)) as {
      code: string;
      message: string;
    };
    expect(error.code).toBe('TOR_UNAVAILABLE');
    expect(error.message).toMatch(
      /could not start tor .*the tor binary was not found.*nothing was sent/,
    );
  });
});
