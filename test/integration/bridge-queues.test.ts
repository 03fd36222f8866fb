/**
 * The bridge's queues under failure, with a real Redis, a real Operator and the real bot against
 * the Bot API emulator: the adapter killed between fetching a letter (or a collective message) and
 * showing it, Redis killed mid-run, Telegram answering 429, a collective's membership changing
 * while a message to it waits in the outbox across a restart. In every case it arrives, exactly
 * once.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  AeadEnvelopeCodec,
  SqliteBridgeStore,
  decodeJob,
  deriveBridgeKeys,
} from '../../bridge/index.js';
import { generateIdentityKeys, randomBytes as sodiumRandom } from '../../common/crypto/index.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import {
  dumpRedis,
  startRedisServer,
  testPrefix,
  type RedisServer,
} from '../support/redis-server.js';
import { TelegramEmulator, type EmulatedUser } from '../support/telegram-emulator.js';
import { register, startBridge, telegramUser } from '../support/telegram-bridge.js';

let operator: OperatorProcess;
let redis: RedisServer;
let emulator: TelegramEmulator;

beforeAll(async () => {
  [operator, redis] = await Promise.all([startOperatorProcess({ powBits: 8 }), startRedisServer()]);
  emulator = new TelegramEmulator();
  await emulator.start();
});

afterAll(async () => {
  await emulator.close();
  await Promise.all([operator.cleanup(), redis.cleanup()]);
});

const lettersTo = (user: EmulatedUser, text: string) =>
  emulator.botMessages(user.id).filter((m) => /etter from @/.test(m.text) && m.text.includes(text));

const collectiveMessagesTo = (user: EmulatedUser, collective: string, text: string) =>
  emulator
    .botMessages(user.id)
    .filter((m) => m.text.startsWith(`[@${collective}] `) && m.text.includes(text));

/** Sends a command and waits for the first bot answer after it that matches. */
const ask = (user: EmulatedUser, text: string, expected: RegExp) =>
  emulator.ask(user, text, expected, 20_000);

/** A fresh data folder holding a config for {@link startAdapterProcess}, and a master key. */
async function adapterProcessFiles() {
  const dataDir = await mkdtemp(join(tmpdir(), 'komrade-telegram-proc-'));
  const masterKey = randomBytes(32).toString('hex');
  const configFile = join(dataDir, 'telegram.yaml');
  await writeFile(
    configFile,
    stringify({
      telegram: { apiRoot: emulator.apiRoot, throttle: false },
      operator: { url: operator.url },
      redis: { host: redis.host, port: redis.port, queuePrefix: testPrefix() },
      store: { dataDir: join(dataDir, 'data') },
      mail: { pollIntervalSeconds: 0.3 },
      log: { level: 'warn' },
    }),
  );
  return { dataDir, masterKey, configFile };
}

/** Runs `dist/adapters/telegram/main.js` as a child process; resolves once it polls Telegram. */
async function startAdapterProcess(configFile: string, masterKey: string) {
  const child = spawn(
    process.execPath,
    ['dist/adapters/telegram/main.js', '--config', configFile],
    {
      env: {
        ...process.env,
        KOMRADE_TELEGRAM_TOKEN: emulator.token,
        KOMRADE_TELEGRAM_MASTER_KEY: masterKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      r();
    }),
  );
  await new Promise<void>((resolveReady, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (c.includes('komrade-telegram running')) resolveReady();
    });
    void exited.then(() => {
      reject(new Error(`adapter exited early:\n${stderr}`));
    });
  });
  return {
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      process.removeListener('exit', reap);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      process.removeListener('exit', reap);
    },
  };
}

/**
 * Reports (never asserts) how long a letter could be shown twice: from Telegram's answer to the
 * SQLite write that marks it delivered. In-process, from the promise's resolution to the commit
 * (`windowMs` of `bridge.delivered`); end to end, from the moment the emulator stored the message
 * (just before it answered) to the log line written after the commit (millisecond clocks).
 */
function reportDeliveryWindow(logs: readonly string[], shown: readonly { sentAt: number }[]) {
  const delivered = logs
    .filter((l) => l.includes('"bridge.delivered"'))
    .map((l) => JSON.parse(l) as { t: string; windowMs: number });
  const inProcess = Math.max(...delivered.map((d) => d.windowMs));
  const committed = delivered.map((d) => Date.parse(d.t)).sort((a, b) => a - b);
  // Each shown message against the first commit logged at or after it.
  const endToEnd = shown.map((m) => (committed.find((t) => t >= m.sentAt) ?? NaN) - m.sentAt);
  process.stdout.write(
    `delivery window: in-process max ${inProcess} ms; emulator answer to commit max ` +
      `${Math.max(...endToEnd)} ms over ${shown.length} letters\n`,
  );
}

describe('bridge queues', () => {
  it('adapter killed (SIGKILL) between fetch and Telegram delivery: the letter arrives once after restart', async () => {
    const { dataDir, masterKey, configFile } = await adapterProcessFiles();
    const ann = telegramUser('Ann');
    const ben = telegramUser('Ben');
    let adapter = await startAdapterProcess(configFile, masterKey);
    try {
      await register(emulator, ann, 'ann_k');
      await register(emulator, ben, 'ben_k');
      const hold = emulator.holdSendsTo(ben.id);
      emulator.userSends(ann, '/send @ben_k survives a crash');
      // Fetched, stored, and now being shown: the crash comes before Telegram answers.
      await hold.held;
      await adapter.kill();
      hold.release();
      expect(lettersTo(ben, 'survives a crash')).toHaveLength(0);
      adapter = await startAdapterProcess(configFile, masterKey);
      await emulator.waitFor(() => lettersTo(ben, 'survives a crash')[0], 20_000, 'the letter');
      // A later letter proves the queue moved on; the first one was still shown only once.
      emulator.userSends(ann, '/send @ben_k after restart');
      await emulator.waitFor(() => lettersTo(ben, 'after restart')[0], 20_000, 'the second');
      expect(lettersTo(ben, 'survives a crash')).toHaveLength(1);
    } finally {
      await adapter.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a /send handled just before a SIGKILL is delivered again by Telegram after the restart: one letter, one answer', async () => {
    const { dataDir, masterKey, configFile } = await adapterProcessFiles();
    const ann = telegramUser('Ann');
    const ben = telegramUser('Ben');
    let adapter = await startAdapterProcess(configFile, masterKey);
    try {
      await register(emulator, ann, 'ann_e');
      await register(emulator, ben, 'ben_e');
      // The bot handles the update, then answers: the answer is held, so the bot never asks for
      // updates again and the update stays unconfirmed, as with real Telegram.
      const hold = emulator.holdSendsTo(ann.id);
      emulator.userSends(ann, '/send @ben_e handled once');
      await hold.held;
      await adapter.kill();
      hold.release();
      adapter = await startAdapterProcess(configFile, masterKey);
      await emulator.waitFor(() => lettersTo(ben, 'handled once')[0], 20_000, 'the letter');
      await emulator.waitForBotMessage(ann.id, /on its way to @ben_e/, 20_000);
      // A later letter proves both queues moved on; the re-delivered update made no second letter.
      emulator.userSends(ann, '/send @ben_e a later one');
      await emulator.waitFor(() => lettersTo(ben, 'a later one')[0], 20_000, 'the second');
      expect(lettersTo(ben, 'handled once')).toHaveLength(1);
      const answers = emulator.botMessages(ann.id).filter((m) => /on its way/.test(m.text));
      expect(answers).toHaveLength(2);
    } finally {
      await adapter.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('adapter killed (SIGKILL) while handing a letter to a paused Operator: sent once the bot restarts, without a stall wait', async () => {
    const { dataDir, masterKey, configFile } = await adapterProcessFiles();
    const cal = telegramUser('Cal');
    const dee = telegramUser('Dee');
    let adapter = await startAdapterProcess(configFile, masterKey);
    let paused = false;
    try {
      await register(emulator, cal, 'cal_s');
      await register(emulator, dee, 'dee_s');
      // A first letter caches dee's receipt and the Operator's keys: the next one seals offline.
      await ask(cal, '/send @dee_s warm up', /on its way/);
      await emulator.waitFor(() => lettersTo(dee, 'warm up')[0], 20_000, 'the first');
      process.kill(operator.pid, 'SIGSTOP');
      paused = true;
      await ask(cal, '/send @dee_s sent after all', /on its way/);
      // The outbox job is now active, its request to the Operator hanging: the bot dies there.
      await new Promise((r) => setTimeout(r, 500));
      await adapter.kill();
      process.kill(operator.pid, 'SIGCONT');
      paused = false;
      const restartedAt = Date.now();
      adapter = await startAdapterProcess(configFile, masterKey);
      await emulator.waitFor(() => lettersTo(dee, 'sent after all')[0], 25_000, 'the letter');
      // Reported, not asserted: from the restart to the letter shown (BullMQ's stall check alone
      // would have waited 30 s for the lock of the killed job to lapse).
      process.stdout.write(`resumed send shown ${Date.now() - restartedAt} ms after the restart\n`);
      expect(lettersTo(dee, 'sent after all')).toHaveLength(1);
    } finally {
      if (paused) process.kill(operator.pid, 'SIGCONT');
      await adapter.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('Redis restarted empty: scheduled fetches and a send waiting out a paused Operator are rebuilt from the store', async () => {
    const bridge = await startBridge({
      emulator,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
    });
    const eli = telegramUser('Eli');
    const flo = telegramUser('Flo');
    let paused = false;
    try {
      await register(emulator, eli, 'eli_w');
      await register(emulator, flo, 'flo_w');
      await ask(eli, '/send @flo_w warm up', /on its way/);
      await emulator.waitFor(() => lettersTo(flo, 'warm up')[0], 20_000, 'the first');
      // The send is accepted and queued, then waits (retrying) for the paused Operator.
      process.kill(operator.pid, 'SIGSTOP');
      paused = true;
      await ask(eli, '/send @flo_w kept in the store', /on its way/);
      // Redis loses everything: the queued send, the poll schedules.
      await redis.kill();
      await rm(join(redis.dataDir, 'appendonlydir'), { recursive: true, force: true });
      await redis.start();
      process.kill(operator.pid, 'SIGCONT');
      paused = false;
      await emulator.waitFor(
        () => lettersTo(flo, 'kept in the store')[0],
        25_000,
        'the send kept in the store',
      );
      // A letter that only flo's scheduled fetch can find (the sender's bot is not this one).
      const other = await startBridge({
        emulator,
        redis,
        operatorUrl: operator.url,
        prefix: testPrefix(),
      });
      try {
        const gus = telegramUser('Gus');
        await register(emulator, gus, 'gus_w');
        await ask(gus, '/send @flo_w from another bot', /on its way/);
        await emulator.waitFor(
          () => lettersTo(flo, 'from another bot')[0],
          25_000,
          'the letter fetched on schedule',
        );
      } finally {
        await other.cleanup();
      }
      expect(bridge.logs.some((l) => l.includes('bridge.redis_emptied'))).toBe(true);
      expect(lettersTo(flo, 'kept in the store')).toHaveLength(1);
    } finally {
      if (paused) process.kill(operator.pid, 'SIGCONT');
      await bridge.cleanup();
    }
  });

  it('Redis killed mid-run and restarted: nothing is lost', async () => {
    const bridge = await startBridge({
      emulator,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
    });
    const cat = telegramUser('Cat');
    const dan = telegramUser('Dan');
    try {
      await register(emulator, cat, 'cat_r');
      await register(emulator, dan, 'dan_r');
      emulator.userSends(cat, '/send @dan_r before the crash');
      await emulator.waitFor(() => lettersTo(dan, 'before the crash')[0]);
      await redis.kill();
      emulator.userSends(cat, '/send @dan_r during the outage');
      emulator.userSends(dan, '/send @cat_r also during the outage');
      await redis.start();
      await emulator.waitFor(() => lettersTo(dan, 'during the outage')[0], 25_000, 'letter to dan');
      await emulator.waitFor(() => lettersTo(cat, 'also during the outage')[0], 25_000, 'to cat');
      await bridge.drained();
      expect(lettersTo(dan, 'before the crash')).toHaveLength(1);
      expect(lettersTo(dan, 'during the outage')).toHaveLength(1);
      reportDeliveryWindow(bridge.logs, [...lettersTo(dan, ''), ...lettersTo(cat, '')]);
    } finally {
      await bridge.cleanup();
    }
  });

  it('Telegram answers 429 with retry_after: the letter arrives once, after the wait', async () => {
    const bridge = await startBridge({
      emulator,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
      throttle: true,
    });
    const eve = telegramUser('Eve');
    const fay = telegramUser('Fay');
    try {
      await register(emulator, eve, 'eve_t');
      await register(emulator, fay, 'fay_t');
      const before = emulator.tooManyRequests;
      emulator.force429('sendMessage', 3, 1);
      emulator.userSends(eve, '/send @fay_t through the flood');
      await emulator.waitFor(() => lettersTo(fay, 'through the flood')[0], 25_000, 'the letter');
      await bridge.drained();
      expect(emulator.tooManyRequests - before).toBe(3);
      expect(lettersTo(fay, 'through the flood')).toHaveLength(1);
    } finally {
      await bridge.cleanup();
    }
  });

  it('adapter killed (SIGKILL) between fetching a collective message and showing it: shown once after restart', async () => {
    const { dataDir, masterKey, configFile } = await adapterProcessFiles();
    const jon = telegramUser('Jon');
    const kim = telegramUser('Kim');
    let adapter = await startAdapterProcess(configFile, masterKey);
    try {
      await register(emulator, jon, 'jon_k');
      await register(emulator, kim, 'kim_k');
      await ask(jon, '/create_collective crash_coll', /Created @crash_coll/);
      await ask(kim, '/join crash_coll', /Asked to join @crash_coll/);
      await ask(jon, '/vouch crash_coll @kim_k', /now a member of @crash_coll/);
      await emulator.waitForBotMessage(kim.id, /you are now a member of @crash_coll/);
      const hold = emulator.holdSendsTo(kim.id);
      await ask(jon, '/say crash_coll survives a crash', /Sealed for 1 member of @crash_coll/);
      // Fetched, verified, in the ledger, and now being shown: the crash comes before Telegram answers.
      await hold.held;
      await adapter.kill();
      hold.release();
      expect(collectiveMessagesTo(kim, 'crash_coll', 'survives a crash')).toHaveLength(0);
      adapter = await startAdapterProcess(configFile, masterKey);
      const shown = await emulator.waitFor(
        () => collectiveMessagesTo(kim, 'crash_coll', 'survives a crash')[0],
        20_000,
        'the collective message',
      );
      expect(shown.text).toBe('[@crash_coll] @jon_k (telegram): survives a crash');
      // A later message proves the queue moved on; the first one was still shown only once.
      await ask(jon, '/say crash_coll after restart', /Sealed for 1 member/);
      await emulator.waitFor(
        () => collectiveMessagesTo(kim, 'crash_coll', 'after restart')[0],
        20_000,
        'the second',
      );
      expect(collectiveMessagesTo(kim, 'crash_coll', 'survives a crash')).toHaveLength(1);
    } finally {
      await adapter.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('membership changes while a collective message waits in the outbox across a restart: sealed again, delivered once to each member', async () => {
    const prefix = testPrefix();
    const marker = `queued-collective-${Date.now().toString(36)}`;
    let bridge = await startBridge({ emulator, redis, operatorUrl: operator.url, prefix });
    const outbox = new Queue(`${prefix}-outbox`, { connection: redis.connect(), prefix });
    outbox.on('error', () => undefined);
    const gil = telegramUser('Gil');
    const hal = telegramUser('Hal');
    const ivy = telegramUser('Ivy');
    const idOf = (user: EmulatedUser) => {
      const found = bridge.adapter.engine.identityOf(`telegram:${user.id}`);
      if (found === undefined) throw new Error('no identity');
      return found.id;
    };
    try {
      await register(emulator, gil, 'gil_q');
      await register(emulator, hal, 'hal_q');
      await register(emulator, ivy, 'ivy_q');
      const engine = bridge.adapter.engine;
      await engine.createCollective(idOf(gil), 'queue_coll');
      await engine.requestToJoin(idOf(hal), 'queue_coll');
      expect((await engine.vouch(idOf(gil), 'queue_coll', 'hal_q')).admitted).toBe(true);
      await engine.requestToJoin(idOf(ivy), 'queue_coll');

      // The outbox holds the message: sealed for gil's fellow members of now, that is hal only.
      await outbox.pause();
      const sent = await engine.sendToCollective(idOf(gil), 'queue_coll', `to all ${marker}`);
      expect(sent.recipients).toBe(1);
      // Before it is sent, ivy is admitted: the Operator will refuse a fan-out that leaves her out.
      expect((await engine.vouch(idOf(hal), 'queue_coll', 'ivy_q')).admitted).toBe(true);
      expect(await outbox.count()).toBe(1);

      // The adapter restarts: the message survives in the bridge store's outbox (encrypted under
      // the queue key), and its job in Redis holds only the row's id.
      await bridge.stop();
      expect(await dumpRedis(redis)).not.toContain(marker);
      bridge = await startBridge({
        emulator,
        redis,
        operatorUrl: operator.url,
        prefix,
        dataDir: bridge.dataDir,
        masterKey: bridge.masterKey,
      });
      await outbox.resume();

      const expected = `[@queue_coll] @gil_q (telegram): to all ${marker}`;
      for (const user of [hal, ivy]) {
        await emulator.waitForBotMessage(user.id, (m) => m.text === expected, 25_000);
      }
      await bridge.drained();
      for (const user of [hal, ivy]) await bridge.adapter.engine.pollNow(idOf(user));
      await bridge.drained();
      expect(collectiveMessagesTo(hal, 'queue_coll', marker)).toHaveLength(1);
      expect(collectiveMessagesTo(ivy, 'queue_coll', marker)).toHaveLength(1);
      expect(collectiveMessagesTo(gil, 'queue_coll', marker)).toHaveLength(0);
      expect(bridge.logs.some((line) => line.includes('bridge.collective_resealed'))).toBe(true);
      expect(bridge.logs.join('\n')).not.toContain(marker);
      expect(await dumpRedis(redis)).not.toContain(marker);
    } finally {
      await outbox.close();
      await bridge.cleanup();
    }
  });
});

describe('the ledger and the outbox envelopes of collective messages', () => {
  it('a bridge store made before collectives opens with its pending letters and keeps collective content sealed until shown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'komrade-bridge-store-'));
    const path = join(dir, 'bridge.db');
    try {
      // The deliveries table as the first release created it, with one pending letter.
      const old = new Database(path);
      old.exec(`
        CREATE TABLE identities (id TEXT PRIMARY KEY, lookup BLOB NOT NULL UNIQUE,
          sealed BLOB NOT NULL, name TEXT UNIQUE, created_at INTEGER NOT NULL) STRICT;
        CREATE TABLE deliveries (id TEXT PRIMARY KEY,
          identity TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
          sender TEXT NOT NULL, letter_id TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('pending', 'delivered')),
          operator_ids TEXT NOT NULL, surface_ref TEXT, created_at INTEGER NOT NULL,
          UNIQUE (identity, sender, letter_id)) STRICT;
        INSERT INTO identities VALUES ('AAAAAAAAAAAAAAAAAAAAAA', x'01', x'02', 'old', 1);
        INSERT INTO deliveries VALUES ('BBBBBBBBBBBBBBBBBBBBBB', 'AAAAAAAAAAAAAAAAAAAAAA', 'ann',
          'letter1', 'pending', '["op1"]', NULL, 1);
      `);
      old.close();
      const keys = deriveBridgeKeys(randomBytes(32).toString('hex'));
      const store = new SqliteBridgeStore(path, keys);
      try {
        expect(store.pendingDeliveries()).toEqual([
          expect.objectContaining({ letterId: 'letter1', collective: null }),
        ]);
        const identity = 'CCCCCCCCCCCCCCCCCCCCCC';
        store.createIdentity('telegram:1', {
          id: identity,
          keys: generateIdentityKeys(),
          storageKey: sodiumRandom(32),
          chat: '1',
        });
        const content = new TextEncoder().encode('the message, encoded');
        const first = store.recordFetched(identity, 'bob', 'msg1', 'op2', {
          collective: 'portland',
          content,
        });
        expect(first.collective).toBe('portland');
        expect(store.deliveryContent(first.id)).toEqual(content);
        // Another Operator copy of the same message: one delivery, the content kept.
        const again = store.recordFetched(identity, 'bob', 'msg1', 'op3', {
          collective: 'portland',
          content: new Uint8Array([9]),
        });
        expect(again.id).toBe(first.id);
        expect(again.operatorIds).toEqual(['op2', 'op3']);
        expect(store.deliveryContent(first.id)).toEqual(content);
        // Sealed at rest: the plaintext is nowhere in the file.
        const raw = new Database(path, { readonly: true });
        const row = raw.prepare('SELECT content FROM deliveries WHERE id = ?').get(first.id) as {
          content: Uint8Array;
        };
        raw.close();
        expect(Buffer.from(row.content).includes(Buffer.from('the message'))).toBe(false);
        store.markDelivered(first.id, '42');
        expect(store.deliveryContent(first.id)).toBeUndefined();
        expect(store.deliveryByRef(identity, '42')?.collective).toBe('portland');
      } finally {
        store.close();
      }
      // Opening it again (the columns already there) changes nothing.
      const reopened = new SqliteBridgeStore(path, keys);
      expect(reopened.pendingDeliveries()).toHaveLength(1);
      reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a collective envelope opens only as one, for its own identity; old letter jobs still decode', () => {
    const codec = new AeadEnvelopeCodec(sodiumRandom(32));
    const identity = 'DDDDDDDDDDDDDDDDDDDDDD';
    const message = {
      v: 1 as const,
      collective: 'portland',
      from: 'alice',
      sentAt: 1_700_000_000_000,
      id: sodiumRandom(16),
      text: 'see you at noon',
    };
    const sealed = { body: sodiumRandom(100), keys: [{ to: 'bob', sealed: sodiumRandom(80) }] };
    const envelope = codec.encodeCollective(identity, { message, sealed });
    expect(envelope).not.toContain('noon');
    expect(codec.decodeCollective(identity, envelope)).toEqual({ message, sealed });
    expect(() => codec.decodeCollective('EEEEEEEEEEEEEEEEEEEEEE', envelope)).toThrow(
      /cannot be opened/,
    );
    expect(() => codec.decode(identity, envelope)).toThrow(/cannot be opened/);
    const letter = codec.encode(identity, { to: 'bob', sealed: sodiumRandom(50) });
    expect(() => codec.decodeCollective(identity, letter)).toThrow(/cannot be opened/);

    expect(decodeJob('outbox', { identity, envelope: letter })).toEqual({
      identity,
      envelope: letter,
    });
    expect(decodeJob('outbox', { identity, kind: 'collective', envelope })).toEqual({
      identity,
      kind: 'collective',
      envelope,
    });
    expect(() => decodeJob('outbox', { identity, kind: 'other', envelope })).toThrow(/malformed/);
  });
});
