/** Where the bridge may send anything: onion Operators through Tor, loopback directly, else nothing. */
import net from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SqliteLocalStore,
  checkOperatorUrl,
  createOperatorDispatcher,
  ensureCircuitIsolationKey,
  parseSocksAddress,
} from '../../client/index.js';
import { randomBytes } from '../../common/crypto/index.js';

const ONION = `http://${'a'.repeat(56)}.onion`;

const failure = (fn: () => unknown): { code?: string; message: string } => {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a failure');
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkOperatorUrl', () => {
  it('accepts v3 onion addresses and loopback, normalized', () => {
    expect(checkOperatorUrl(`${ONION}/`)).toEqual({ kind: 'onion', url: ONION });
    expect(checkOperatorUrl(`${ONION.toUpperCase().replace('HTTP', 'http')}/komrade/`)).toEqual({
      kind: 'onion',
      url: `${ONION}/komrade`,
    });
    for (const url of ['http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:9']) {
      expect(checkOperatorUrl(url)).toEqual({ kind: 'loopback', url });
    }
  });

  it('refuses every other destination with a message that says what is allowed', () => {
    for (const url of [
      'http://93.184.216.34',
      'https://example.org/v1',
      'http://10.0.0.2:8080',
      'http://abcdef.onion',
      'ftp://127.0.0.1',
      'not a url',
    ]) {
      const error = failure(() => checkOperatorUrl(url));
      expect(error.code, url).toBe('CONFIG_INVALID');
      expect(error.message).toMatch(/only as a Tor onion service/);
    }
    const error = failure(() => checkOperatorUrl('http://user:secret@93.184.216.34/private/path'));
    expect(error.message).toContain('http://93.184.216.34');
    expect(error.message).not.toContain('secret');
    expect(error.message).not.toContain('private');
    expect(failure(() => checkOperatorUrl(`http://u:p@${ONION.slice(7)}`)).code).toBe(
      'CONFIG_INVALID',
    );
    expect(failure(() => checkOperatorUrl(`${ONION}/?x=1`)).code).toBe('CONFIG_INVALID');
  });
});

describe('parseSocksAddress', () => {
  it('reads HOST:PORT on this machine', () => {
    expect(parseSocksAddress('127.0.0.1:9050')).toEqual({ host: '127.0.0.1', port: 9050 });
    expect(parseSocksAddress('localhost:9150')).toEqual({ host: 'localhost', port: 9150 });
    expect(parseSocksAddress('[::1]:9050')).toEqual({ host: '::1', port: 9050 });
  });

  it('refuses other shapes and any proxy off this machine', () => {
    for (const text of ['9050', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'a:b:c']) {
      expect(failure(() => parseSocksAddress(text)).message).toMatch(/HOST:PORT/);
    }
    expect(failure(() => parseSocksAddress('192.168.1.5:9050')).message).toMatch(
      /must be on this machine/,
    );
  });
});

describe('createOperatorDispatcher', () => {
  it('refuses an onion Operator without a SOCKS port, saying how to fix it', () => {
    const error = failure(() =>
      createOperatorDispatcher({ operatorUrl: ONION, isolationKey: 'k' }),
    );
    expect(error.code).toBe('TOR_UNAVAILABLE');
    expect(error.message).toMatch(/nothing was sent/);
    expect(error.message).toMatch(/--tor-socks 127\.0\.0\.1:9050/);
    expect(error.message).toMatch(/KOMRADE_TOR_SOCKS/);
  });

  it('refuses a SOCKS port off this machine and a non-onion, non-loopback Operator', () => {
    const socks = { host: '10.1.1.1', port: 9050 };
    expect(
      failure(() => createOperatorDispatcher({ operatorUrl: ONION, socks, isolationKey: 'k' }))
        .code,
    ).toBe('CONFIG_INVALID');
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    const error = failure(() =>
      createOperatorDispatcher({
        operatorUrl: 'http://93.184.216.34',
        socks: { host: '127.0.0.1', port: 9050 },
        isolationKey: 'k',
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(connect).not.toHaveBeenCalled();
  });

  it('gives loopback a direct agent that refuses any other host before connecting', async () => {
    const dispatcher = createOperatorDispatcher({
      operatorUrl: 'http://127.0.0.1:9',
      isolationKey: 'k',
    });
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    try {
      for (const url of ['http://93.184.216.34/v1/operator', `${ONION}/v1/operator`]) {
        const error = (await request(url, { dispatcher }).catch((e: unknown) => e)) as {
          code?: string;
        };
        expect(error.code).toBe('CONFIG_INVALID');
      }
      expect(connect).not.toHaveBeenCalled();
    } finally {
      await dispatcher.close();
    }
  });

  it('gives an onion Operator the Tor dispatcher, which connects to onions only', async () => {
    const dispatcher = createOperatorDispatcher({
      operatorUrl: ONION,
      socks: { host: '127.0.0.1', port: 9 },
      isolationKey: 'k',
    });
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    try {
      const error = (await request('http://93.184.216.34/', { dispatcher }).catch(
        (e: unknown) => e,
      )) as { code?: string };
      expect(error.code).toBe('TOR_UNAVAILABLE');
      expect(connect).not.toHaveBeenCalled();
    } finally {
      await dispatcher.close();
    }
  });
});

describe('circuit isolation keys and the SOCKS setting', () => {
  it('makes one random key per identity, kept in its store', () => {
    const alice = new SqliteLocalStore(':memory:', { storageKey: randomBytes(32) });
    const bob = new SqliteLocalStore(':memory:', { storageKey: randomBytes(32) });
    try {
      const key = ensureCircuitIsolationKey(alice);
      expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(ensureCircuitIsolationKey(alice)).toBe(key);
      expect(alice.circuitIsolationKey()).toBe(key);
      expect(ensureCircuitIsolationKey(bob)).not.toBe(key);
    } finally {
      alice.close();
      bob.close();
    }
  });

  it('keeps the SOCKS address chosen at init, IPv6 included, and forgets it', () => {
    const store = new SqliteLocalStore(':memory:', { storageKey: randomBytes(32) });
    try {
      expect(store.torSocks()).toBeUndefined();
      store.setTorSocks({ host: '127.0.0.1', port: 9050 });
      expect(store.torSocks()).toEqual({ host: '127.0.0.1', port: 9050 });
      store.setTorSocks({ host: '::1', port: 9150 });
      expect(store.torSocks()).toEqual({ host: '::1', port: 9150 });
      store.setTorSocks(undefined);
      expect(store.torSocks()).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
