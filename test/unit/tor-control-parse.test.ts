/** Pure parts of the Tor layer: reply framing, bootstrap phases, ADD_ONION, guards, retries. */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKomradeError } from '../../common/errors/index.js';
import {
  ControlReplyParser,
  TorControl,
  TorError,
  assertOnionOrLoopback,
  buildAddOnionCommand,
  isTransientSocksReply,
  isTransientTorError,
  parseBootstrapPhase,
  parseCircuitStatus,
  parseGetInfo,
  parseKeywords,
  parseStreamLine,
  renderTorrc,
  retryWithBackoff,
  torVersionAtLeast,
  type ControlReply,
} from '../../tor/index.js';

const ONION = 'a'.repeat(56) + '.onion';
const KEY = `ED25519-V3:${'A'.repeat(86)}==`;

function parseAll(...chunks: string[]): ControlReply[] {
  const replies: ControlReply[] = [];
  const parser = new ControlReplyParser((r) => replies.push(r));
  for (const chunk of chunks) parser.push(chunk);
  return replies;
}

describe('ControlReplyParser', () => {
  it('assembles mid lines, data blocks and the end line, across chunk boundaries', () => {
    const replies = parseAll(
      '250-version=0.4.9.11\r\n250+circuit-status=\r\n1 BUILT $A~a,$B~b PURPOSE=GENERAL\r\n',
      '..dotted line\r\n.\r\n250 O',
      'K\r\n',
    );
    expect(replies).toHaveLength(1);
    const [reply] = replies;
    expect(reply!.status).toBe(250);
    expect(reply!.lines.map((l) => l.text)).toEqual(['version=0.4.9.11', 'circuit-status=', 'OK']);
    expect(reply!.lines[1]!.data).toBe('1 BUILT $A~a,$B~b PURPOSE=GENERAL\n.dotted line');
    const info = parseGetInfo(reply!);
    expect(info.get('version')).toBe('0.4.9.11');
    expect(info.get('circuit-status')).toContain('BUILT');
  });

  it('separates asynchronous events from replies and reads errors', () => {
    const replies = parseAll(
      '650 STREAM 5 SUCCEEDED 3 x.onion:80\r\n',
      '552 Unrecognized key "nope"\r\n',
    );
    expect(replies.map((r) => r.status)).toEqual([650, 552]);
  });

  it('rejects a line that is not control-protocol framing', () => {
    expect(() => parseAll('hello\r\n')).toThrow();
  });
});

describe('keyword and status parsing', () => {
  it('reads positional words and quoted keyword values with escapes', () => {
    const { positional, keywords } = parseKeywords(
      'NOTICE BOOTSTRAP PROGRESS=5 SUMMARY="say \\"hi\\" \\\\ there" TAG=conn',
    );
    expect(positional).toEqual(['NOTICE', 'BOOTSTRAP']);
    expect(keywords.get('SUMMARY')).toBe('say "hi" \\ there');
    expect(keywords.get('TAG')).toBe('conn');
  });

  it('parses bootstrap phases from GETINFO and from STATUS_CLIENT events', () => {
    expect(parseBootstrapPhase('NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"')).toEqual({
      percent: 100,
      tag: 'done',
      summary: 'Done',
    });
    expect(
      parseBootstrapPhase(
        'WARN BOOTSTRAP PROGRESS=10 TAG=conn_done SUMMARY="Connected" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=3',
      ),
    ).toEqual({
      percent: 10,
      tag: 'conn_done',
      summary: 'Connected',
      warning: 'Connection refused',
    });
    expect(parseBootstrapPhase('NOTICE CIRCUIT_ESTABLISHED')).toBeUndefined();
    expect(parseBootstrapPhase('NOTICE BOOTSTRAP PROGRESS=abc')).toBeUndefined();
  });

  it('parses circuit and stream lists with isolation usernames', () => {
    const circuits = parseCircuitStatus(
      '7 BUILT $AA~r1,$BB~r2,$CC~r3 BUILD_FLAGS=IS_INTERNAL PURPOSE=HS_CLIENT_REND SOCKS_USERNAME="carol" SOCKS_PASSWORD="carol"\n8 LAUNCHED PURPOSE=GENERAL',
    );
    expect(circuits).toEqual([
      {
        id: '7',
        status: 'BUILT',
        path: ['$AA~r1', '$BB~r2', '$CC~r3'],
        purpose: 'HS_CLIENT_REND',
        socksUsername: 'carol',
      },
      { id: '8', status: 'LAUNCHED', path: [], purpose: 'GENERAL' },
    ]);
    expect(parseStreamLine(`12 SUCCEEDED 7 ${ONION}:80 SOCKS_USERNAME="carol"`)).toEqual({
      id: '12',
      status: 'SUCCEEDED',
      circuitId: '7',
      target: `${ONION}:80`,
      socksUsername: 'carol',
    });
  });
});

describe('ADD_ONION', () => {
  it('builds NEW and persisted-key commands with flags, PoW and port mappings', () => {
    expect(buildAddOnionCommand({ ports: [{ targetPort: 8080 }] }, false)).toBe(
      'ADD_ONION NEW:ED25519-V3 Port=80,127.0.0.1:8080',
    );
    expect(
      buildAddOnionCommand(
        { privateKey: KEY, detach: true, ports: [{ virtualPort: 443, targetPort: 8443 }] },
        true,
      ),
    ).toBe(`ADD_ONION ${KEY} Flags=Detach PoWDefensesEnabled=1 Port=443,127.0.0.1:8443`);
  });

  it('refuses arguments that could smuggle options or commands', () => {
    const bad = [
      { privateKey: `${KEY}\r\nSIGNAL HALT`, ports: [{ targetPort: 80 }] },
      { privateKey: 'RSA1024:abc', ports: [{ targetPort: 80 }] },
      { ports: [{ targetPort: 80, targetHost: '127.0.0.1 Flags=Detach' }] },
      { ports: [{ targetPort: 70000 }] },
      { ports: [] },
    ];
    for (const options of bad) {
      expect(() => buildAddOnionCommand(options, false)).toThrow(TorError);
    }
  });

  it('compares tor versions for the PoW argument', () => {
    expect(torVersionAtLeast('0.4.9.11', [0, 4, 9, 1])).toBe(true);
    expect(torVersionAtLeast('0.4.9.1-alpha', [0, 4, 9, 1])).toBe(true);
    expect(torVersionAtLeast('0.4.8.16', [0, 4, 9, 1])).toBe(false);
    expect(torVersionAtLeast('garbage', [0, 4, 9, 1])).toBe(false);
  });

  it('refuses torrc lines that contain line breaks', () => {
    expect(() => renderTorrc(['SocksPort 0\nControlPort 9051'])).toThrow(TorError);
    expect(renderTorrc(['SocksPort 0', 'Log notice stdout'])).toBe(
      'SocksPort 0\nLog notice stdout\n',
    );
  });
});

describe('assertOnionOrLoopback', () => {
  it('accepts an onion with a proxy and loopback without one', () => {
    expect(assertOnionOrLoopback(`http://${ONION}/v1`, { socksConfigured: true }).kind).toBe(
      'onion',
    );
    for (const url of ['http://127.0.0.1:8080/', 'http://localhost/', 'http://[::1]:3000/']) {
      expect(assertOnionOrLoopback(url, { socksConfigured: false }).kind).toBe('loopback');
    }
  });

  it('refuses an onion without a SOCKS proxy, clearnet, bad onions and other schemes', () => {
    const refused = (url: string, socksConfigured: boolean): unknown => {
      try {
        assertOnionOrLoopback(url, { socksConfigured });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const noProxy = refused(`http://${ONION}/`, false);
    expect(isKomradeError(noProxy, 'TOR_UNAVAILABLE')).toBe(true);
    expect((noProxy as Error).message).toMatch(/needs a Tor SOCKS proxy/);
    for (const url of [
      'https://example.org/',
      'http://10.0.0.1/',
      'http://short.onion/',
      `ftp://${ONION}/`,
      'not a url',
    ]) {
      expect(isKomradeError(refused(url, true), 'TOR_UNAVAILABLE')).toBe(true);
    }
  });
});

describe('transient classification and retries', () => {
  it('classifies SOCKS replies, Tor errors, undici codes and causes', () => {
    expect(isTransientSocksReply(0x04)).toBe(true);
    expect(isTransientSocksReply(0x06)).toBe(true);
    expect(isTransientSocksReply(0xf0)).toBe(true);
    expect(isTransientSocksReply(0xf6)).toBe(false);
    expect(isTransientSocksReply(0x02)).toBe(false);
    expect(isTransientTorError(new TorError('x', { transient: true, socksReply: 4 }))).toBe(true);
    expect(isTransientTorError(new TorError('x', { transient: false }))).toBe(false);
    expect(
      isTransientTorError(Object.assign(new Error('t'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
    ).toBe(true);
    expect(
      isTransientTorError(
        new Error('wrapped', { cause: new TorError('ttl', { transient: true, socksReply: 6 }) }),
      ),
    ).toBe(true);
    // A serialized error keeps its fields and still classifies.
    expect(isTransientTorError({ code: 'TOR_UNAVAILABLE', transient: true })).toBe(true);
    expect(isTransientTorError(new Error('plain'))).toBe(false);
    expect(isTransientTorError(undefined)).toBe(false);
  });

  it('retries transient failures and rethrows permanent ones at once', async () => {
    const retries: number[] = [];
    let calls = 0;
    const value = await retryWithBackoff(
      (attempt) => {
        calls = attempt;
        if (attempt < 3) {
          return Promise.reject(new TorError('not yet', { transient: true, socksReply: 0xf0 }));
        }
        return Promise.resolve('ok');
      },
      { attempts: 5, baseMs: 1, onRetry: ({ attempt }) => retries.push(attempt) },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);

    let permanentCalls = 0;
    await expect(
      retryWithBackoff(
        () => {
          permanentCalls++;
          return Promise.reject(
            new TorError('bad address', { transient: false, socksReply: 0xf6 }),
          );
        },
        { attempts: 5, baseMs: 1 },
      ),
    ).rejects.toThrow('bad address');
    expect(permanentCalls).toBe(1);

    await expect(
      retryWithBackoff(() => Promise.reject(new TorError('down', { transient: true })), {
        attempts: 2,
        baseMs: 1,
      }),
    ).rejects.toThrow('down');
  });
});

describe('TorControl against a scripted control port', () => {
  let dir: string;
  let cookie: Buffer;
  let cookiePath: string;
  let server: net.Server;
  let port: number;
  const received: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'komrade-torctl-'));
    cookie = randomBytes(32);
    cookiePath = join(dir, 'control_auth_cookie');
    await writeFile(cookiePath, cookie);
    server = net.createServer((socket) => {
      let buffer = '';
      const serverNonce = randomBytes(32);
      let clientNonce = Buffer.alloc(0);
      const hmac = (key: string): Buffer =>
        createHmac('sha256', key)
          .update(Buffer.concat([cookie, clientNonce, serverNonce]))
          .digest();
      socket.on('data', (chunk) => {
        buffer += chunk.toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\r\n')) >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          received.push(line);
          const [verb, arg1, arg2] = line.split(' ');
          if (verb === 'PROTOCOLINFO') {
            socket.write(
              `250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="${cookiePath}"\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n`,
            );
          } else if (verb === 'AUTHCHALLENGE' && arg1 === 'SAFECOOKIE') {
            clientNonce = Buffer.from(arg2 ?? '', 'hex');
            const serverHash = hmac('Tor safe cookie authentication server-to-controller hash');
            socket.write(
              `250 AUTHCHALLENGE SERVERHASH=${serverHash.toString('hex')} SERVERNONCE=${serverNonce.toString('hex')}\r\n`,
            );
          } else if (verb === 'AUTHENTICATE') {
            const expected = hmac('Tor safe cookie authentication controller-to-server hash');
            socket.write(
              arg1 === expected.toString('hex')
                ? '250 OK\r\n'
                : '515 Authentication failed: Safe cookie response did not match expected value.\r\n',
            );
          } else if (verb === 'GETINFO' && arg1 === 'status/bootstrap-phase') {
            socket.write(
              '650 STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=50 TAG=loading_descriptors SUMMARY="Loading relay descriptors"\r\n',
            );
            socket.write(
              '250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=50 TAG=loading_descriptors SUMMARY="Loading relay descriptors"\r\n250 OK\r\n',
            );
          } else if (verb === 'ADD_ONION') {
            // Tor quoting an argument back: the key must not reach the error message.
            socket.write(`512 Bad arguments to ADD_ONION: ${arg1 ?? ''}\r\n`);
          } else if (verb === 'QUIT') {
            socket.end('250 closing connection\r\n');
          } else {
            socket.write('250 OK\r\n');
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('authenticates with SAFECOOKIE, answers commands and delivers events', async () => {
    const control = await TorControl.connect({ port }, { cookiePath });
    const events: string[] = [];
    const unsubscribe = await control.subscribe(['STATUS_CLIENT'], (e) => events.push(e.body));
    expect(received).toContain('SETEVENTS STATUS_CLIENT');
    expect(await control.bootstrapPhase()).toMatchObject({
      percent: 50,
      tag: 'loading_descriptors',
    });
    expect(events).toHaveLength(1);
    await unsubscribe();
    expect(received.at(-1)).toBe('SETEVENTS');
    // The cookie itself never crosses the wire with SAFECOOKIE.
    expect(received.join('\n')).not.toContain(cookie.toString('hex'));
    await control.close();
  });

  it('maps a 5xx reply to TOR_UNAVAILABLE with its status and without the secret argument', async () => {
    const control = await TorControl.connect({ port }, { cookiePath });
    const error: unknown = await control
      .addOnion({ privateKey: KEY, ports: [{ targetPort: 8080 }], powDefenses: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TorError);
    expect((error as TorError).code).toBe('TOR_UNAVAILABLE');
    expect((error as TorError).controlStatus).toBe(512);
    expect((error as TorError).message).toMatch(/^tor refused ADD_ONION: 512/);
    expect((error as TorError).message).not.toContain('A'.repeat(40));
    await control.close();
  });

  it('refuses command lines with line breaks', async () => {
    const control = await TorControl.connect({ port }, { cookiePath });
    await expect(control.command('GETINFO version\r\nSIGNAL HALT')).rejects.toThrow(TorError);
    await control.close();
  });
});
