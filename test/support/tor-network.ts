/**
 * A complete private Tor network on 127.0.0.1 for integration tests and benchmarks: three directory
 * authorities (also relays), a few more relays, then client and onion-service tors on demand.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchTor, torrcQuote, type BootstrapProgress, type TorProcess } from '../../tor/index.js';

/** Options for {@link startPrivateTorNetwork}. */
export interface PrivateTorNetworkOptions {
  /** @defaultValue 3 */
  readonly authorities?: number;
  /** Relays besides the authorities; an onion circuit pair needs at least 4 distinct relays. @defaultValue 2 */
  readonly relays?: number;
  /** @defaultValue `'tor'` */
  readonly torPath?: string;
  /** @defaultValue `'tor-gencert'` */
  readonly torGencertPath?: string;
  /** How long to wait for a consensus listing every relay. @defaultValue 90000 */
  readonly consensusTimeoutMs?: number;
  /** Receives timing notes (e.g. `console.log` in a benchmark). */
  readonly log?: (message: string) => void;
  /**
   * The authorities' `V3AuthVotingInterval` in seconds. Onionbalance's `--is-testnet` mode
   * hard-codes 20 (its time periods and shared-random runs are derived from it), so a network
   * hosting Onionbalance must use 20. @defaultValue 10
   */
  readonly votingIntervalSeconds?: number;
}

/** Options for one client or service tor on the network. */
export interface NetworkTorOptions {
  /** @defaultValue `'auto'` for a client, `false` for a service */
  readonly socksPort?: 'auto' | false;
  readonly extraTorrcLines?: readonly string[];
  readonly onProgress?: (progress: BootstrapProgress) => void;
  /** @defaultValue 60000 */
  readonly bootstrapTimeoutMs?: number;
}

/** A running private network. */
export interface PrivateTorNetwork {
  /** The network's temporary folder (deleted by `stop()`). */
  readonly dir: string;
  /** When the first tor of the network was spawned (`Date.now()`), for timings. */
  readonly startedAt: number;
  /** Boot phases in ms: authority keys, relays running, consensus listing every relay. */
  readonly bootTimings: Readonly<Record<'keysMs' | 'relaysRunningMs' | 'consensusMs', number>>;
  /** Pids of every tor the harness started and has not stopped yet. */
  pids(): readonly number[];
  /** Lines that make a `launchTor` tor use this network (DirAuthority, TestingTorNetwork, …). */
  torrcLinesForClient(): string[];
  /** Starts a tor on this network (tracked, stopped by `stop()`). */
  startTor(options?: NetworkTorOptions): Promise<TorProcess>;
  /** A client tor with a SOCKS port. */
  startClientTor(options?: NetworkTorOptions): Promise<TorProcess>;
  /** A tor without a SOCKS port, to host onion services via ADD_ONION. */
  startServiceTor(options?: NetworkTorOptions): Promise<TorProcess>;
  /** Resident memory of each running tor, from /proc (Linux). */
  memoryUsage(): Promise<readonly { pid: number; rssKb: number }[]>;
  /** Stops exactly the tors this harness started and deletes its folder. */
  stop(): Promise<void>;
}

interface NodePorts {
  readonly nickname: string;
  readonly orPort: number;
  readonly dirPort?: number;
  readonly dataDir: string;
}

/**
 * Boots the network and resolves once the authorities' consensus lists every relay. A missing
 * `tor` or `tor-gencert` is an error (tests must fail, never skip).
 *
 * @example
 * ```ts
 * let network: PrivateTorNetwork;
 * beforeAll(async () => { network = await startPrivateTorNetwork(); }, 120_000);
 * afterAll(() => network.stop());
 * ```
 */
export async function startPrivateTorNetwork(
  options: PrivateTorNetworkOptions = {},
): Promise<PrivateTorNetwork> {
  // Probed ports are free when probed, but another process's outgoing connection can take one
  // from the ephemeral range before tor binds it (seen once in CI): start over on fresh ports.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startPrivateTorNetworkOnce(options);
    } catch (error) {
      const clash = error instanceof Error && error.message.includes('Address already in use');
      if (!clash || attempt >= 3) throw error;
      (options.log ?? (() => undefined))(`tor-network: a port was taken; retrying (${attempt})`);
    }
  }
}

async function startPrivateTorNetworkOnce(
  options: PrivateTorNetworkOptions,
): Promise<PrivateTorNetwork> {
  const torPath = options.torPath ?? 'tor';
  const gencertPath = options.torGencertPath ?? 'tor-gencert';
  const log = options.log ?? (() => undefined);
  await requireBinary(torPath, ['--version']);
  await requireBinary(gencertPath, ['--help']);

  const dir = await mkdtemp(join(tmpdir(), 'komrade-tornet-'));
  const running = new Set<TorProcess>();
  let clientCount = 0;
  const stop = async (): Promise<void> => {
    const all = [...running];
    running.clear();
    await Promise.all(all.map((tor) => tor.stop()));
    // A tor that was just killed may still be flushing into its data folder: retry the removal.
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };

  try {
    const empty = join(dir, 'empty');
    await writeFile(empty, '');
    const authorityCount = options.authorities ?? 3;
    const relayCount = options.relays ?? 2;
    const ports = await freePorts(authorityCount * 2 + relayCount);
    const takePort = (): number => {
      const port = ports.shift();
      if (port === undefined) throw new Error('ran out of probed ports');
      return port;
    };
    const authorities: NodePorts[] = Array.from({ length: authorityCount }, (_, i) => ({
      nickname: `auth${i}`,
      orPort: takePort(),
      dirPort: takePort(),
      dataDir: join(dir, `auth${i}`),
    }));
    const relays: NodePorts[] = Array.from({ length: relayCount }, (_, i) => ({
      nickname: `relay${i}`,
      orPort: takePort(),
      dataDir: join(dir, `relay${i}`),
    }));

    const keyStart = Date.now();
    const dirAuthorityLines = await Promise.all(
      authorities.map(async (auth) => {
        const { v3ident, fingerprint } = await makeAuthorityKeys(torPath, gencertPath, auth, empty);
        return `DirAuthority ${auth.nickname} orport=${auth.orPort} no-v2 v3ident=${v3ident} 127.0.0.1:${String(auth.dirPort)} ${fingerprint}`;
      }),
    );
    const keysMs = Date.now() - keyStart;
    log(`tor-network: authority keys in ${keysMs} ms`);

    const common = [
      'TestingTorNetwork 1',
      ...dirAuthorityLines,
      'PathsNeededToBuildCircuits 0.67',
      'TestingDirAuthVoteExit *',
      'TestingDirAuthVoteHSDir *',
      'TestingDirAuthVoteGuard *',
      `GeoIPFile ${torrcQuote(empty)}`,
      `GeoIPv6File ${torrcQuote(empty)}`,
      'Schedulers Vanilla',
    ];
    const relayLines = (node: NodePorts): string[] => [
      ...common,
      `Nickname ${node.nickname}`,
      'Address 127.0.0.1',
      `ORPort 127.0.0.1:${node.orPort}`,
      'AssumeReachable 1',
      'ExitRelay 0',
      'ExitPolicy reject *:*',
      `ContactInfo ${node.nickname}@komrade.invalid`,
      'ShutdownWaitLength 0',
    ];
    const authorityLines = (node: NodePorts): string[] => [
      ...relayLines(node),
      `DirPort 127.0.0.1:${String(node.dirPort)}`,
      'AuthoritativeDirectory 1',
      'V3AuthoritativeDirectory 1',
      `V3AuthVotingInterval ${String(options.votingIntervalSeconds ?? 10)}`,
      'V3AuthVoteDelay 2',
      'V3AuthDistDelay 2',
      'V3AuthNIntervalsValid 2',
      'TestingV3AuthInitialVotingInterval 5',
      'TestingV3AuthInitialVoteDelay 2',
      'TestingV3AuthInitialDistDelay 2',
      'TestingV3AuthVotingStartOffset 0',
    ];

    const startedAt = Date.now();
    const track = async (launching: Promise<TorProcess>): Promise<TorProcess> => {
      const tor = await launching;
      running.add(tor);
      void tor.exited.then(() => running.delete(tor));
      return tor;
    };
    const infrastructure = await Promise.all([
      ...authorities.map((node) =>
        track(
          launchTor({
            torPath,
            dataDir: node.dataDir,
            socksPort: false,
            waitForBootstrap: false,
            extraTorrcLines: authorityLines(node),
            stopTimeoutMs: 3_000,
          }),
        ),
      ),
      ...relays.map((node) =>
        track(
          launchTor({
            torPath,
            dataDir: node.dataDir,
            socksPort: false,
            waitForBootstrap: false,
            extraTorrcLines: relayLines(node),
            stopTimeoutMs: 3_000,
          }),
        ),
      ),
    ]);
    const relaysRunningMs = Date.now() - startedAt;
    log(`tor-network: ${infrastructure.length} relays running after ${relaysRunningMs} ms`);

    const firstAuthority = infrastructure[0];
    if (firstAuthority === undefined) throw new Error('no authorities configured');
    await waitForConsensus(
      firstAuthority,
      authorityCount + relayCount,
      options.consensusTimeoutMs ?? 90_000,
    );
    const consensusMs = Date.now() - startedAt;
    log(`tor-network: consensus lists every relay after ${consensusMs} ms`);

    const clientLines = (): string[] => [
      ...common,
      'FetchDirInfoEarly 1',
      'FetchDirInfoExtraEarly 1',
    ];
    const startTor = (torOptions: NetworkTorOptions = {}): Promise<TorProcess> => {
      clientCount += 1;
      return track(
        launchTor({
          torPath,
          dataDir: join(dir, `tor${clientCount}`),
          socksPort: torOptions.socksPort ?? 'auto',
          extraTorrcLines: [...clientLines(), ...(torOptions.extraTorrcLines ?? [])],
          bootstrapTimeoutMs: torOptions.bootstrapTimeoutMs ?? 60_000,
          stopTimeoutMs: 3_000,
          ...(torOptions.onProgress === undefined ? {} : { onProgress: torOptions.onProgress }),
        }),
      );
    };

    return {
      dir,
      startedAt,
      bootTimings: { keysMs, relaysRunningMs, consensusMs },
      pids: () => [...running].map((tor) => tor.pid),
      torrcLinesForClient: clientLines,
      startTor,
      startClientTor: (torOptions = {}) => startTor({ socksPort: 'auto', ...torOptions }),
      startServiceTor: (torOptions = {}) => startTor({ socksPort: false, ...torOptions }),
      memoryUsage: () => Promise.all([...running].map((tor) => rss(tor.pid))),
      stop,
    };
  } catch (error) {
    // The start-up error is the one to see; a failed cleanup must not replace it.
    await stop().catch((cleanup: unknown) => {
      log(`tor-network: cleanup after a failed start failed too: ${String(cleanup)}`);
    });
    throw error;
  }
}

/** Fails with an install hint when a binary is missing, so a CI without tor fails loudly. */
async function requireBinary(path: string, args: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path, args, { stdio: 'ignore' });
    child.once('error', (cause: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `${path} is required for the private Tor network (${cause.code ?? 'error'}); install it with \`apt-get install -y tor\``,
          { cause },
        ),
      );
    });
    child.once('exit', () => {
      resolve();
    });
  });
}

/** Creates an authority's v3 keys and relay identity; returns the two fingerprints. */
async function makeAuthorityKeys(
  torPath: string,
  gencertPath: string,
  node: NodePorts,
  emptyTorrc: string,
): Promise<{ v3ident: string; fingerprint: string }> {
  const keys = join(node.dataDir, 'keys');
  await mkdir(keys, { recursive: true, mode: 0o700 });
  await run(
    gencertPath,
    [
      '--create-identity-key',
      '-m',
      '12',
      '-a',
      `127.0.0.1:${String(node.dirPort)}`,
      '-i',
      join(keys, 'authority_identity_key'),
      '-s',
      join(keys, 'authority_signing_key'),
      '-c',
      join(keys, 'authority_certificate'),
      '--passphrase-fd',
      '0',
    ],
    '\n',
  );
  const certificate = await readFile(join(keys, 'authority_certificate'), 'utf8');
  const v3ident = /^fingerprint ([0-9A-F]{40})$/m.exec(certificate)?.[1];
  await run(torPath, [
    '-f',
    emptyTorrc,
    '--defaults-torrc',
    emptyTorrc,
    '--list-fingerprint',
    '--DataDirectory',
    node.dataDir,
    '--ORPort',
    `127.0.0.1:${node.orPort}`,
    '--Address',
    '127.0.0.1',
    '--Nickname',
    node.nickname,
    '--SocksPort',
    '0',
    '--Log',
    'err stderr',
  ]);
  const fingerprintFile = await readFile(join(node.dataDir, 'fingerprint'), 'utf8');
  const fingerprint = /([0-9A-F]{40})/.exec(fingerprintFile)?.[1];
  if (v3ident === undefined || fingerprint === undefined) {
    throw new Error(`could not read the fingerprints of ${node.nickname}`);
  }
  return { v3ident, fingerprint };
}

function run(path: string, args: readonly string[], stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(path, args, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`${path} failed: ${stderr.trim().slice(-500)}`, { cause: error }));
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** Polls an authority until its consensus has `count` relays (router `r` lines). */
async function waitForConsensus(
  authority: TorProcess,
  count: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    try {
      const ns = (await authority.control.getInfo('ns/all')).get('ns/all') ?? '';
      seen = ns.split('\n').filter((line) => line.startsWith('r ')).length;
      if (seen >= count) return;
    } catch {
      // No consensus yet: tor answers 551/552 until the first vote completes.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `the private network's consensus lists ${seen} of ${count} relays after ${timeoutMs} ms`,
  );
}

/** Distinct free loopback ports: all probes stay bound until every port is known. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            resolve(server);
          });
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        ),
    ),
  );
  return ports;
}

async function rss(pid: number): Promise<{ pid: number; rssKb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return { pid, rssKb: kb === undefined ? 0 : Number(kb) };
}

/** Prints measured timings (integration tests and benchmarks report them; assertions do not). */
export function reportTimings(label: string, timings: Readonly<Record<string, number>>): void {
  console.log(`${label} timings (ms): ${JSON.stringify(timings)}`);
}
