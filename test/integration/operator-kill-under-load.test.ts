/**
 * Nothing answered is lost, and nothing acked lingers, when the Operator is SIGKILLed under load
 * (issue 12): many concurrent anonymous sends, fetches and acks through the real HTTP server,
 * then a kill while requests are in flight and a restart on the same data folder. Durability now
 * comes from an fsync of the WAL on the thread pool, so this holds the answer-after-sync order
 * to account across group commits, shared syncs and shared scrubs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import { fromBase64url, type Token } from '../../common/wire/index.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { TestClient, makeKomrade, type TestKomrade } from '../support/operator-test-client.js';

const POW_BITS = 4;
const SENDERS = 24;
const RECIPIENTS = 6;
/** Kill once at least this many sends and acks were answered (and requests are in flight). */
const SENDS_BEFORE_KILL = 300;
const ACKS_BEFORE_KILL = 20;
const TOKENS = 900;
const MARKER = /KOMRADE-KILL-[0-9a-f]{24}/g;

const started: OperatorProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.cleanup()));
});

interface Sent {
  readonly to: string;
  readonly marker: string;
  readonly sealed: Buffer;
}

/** A 1 KiB sealed-letter stand-in with a unique marker in the middle. */
function letter(): { marker: string; sealed: Buffer } {
  const marker = `KOMRADE-KILL-${Buffer.from(randomBytes(12)).toString('hex')}`;
  const mark = Buffer.from(marker);
  const head = (1_024 - mark.length) >> 1;
  return {
    marker,
    sealed: Buffer.concat([randomBytes(head), mark, randomBytes(1_024 - mark.length - head)]),
  };
}

/** Every letter marker found in any file of `dir` (recursively). */
function markersOnDisk(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const text = readFileSync(join(entry.parentPath, entry.name)).toString('latin1');
    for (const match of text.matchAll(MARKER)) found.add(match[0]);
  }
  return found;
}

/** The marker inside a fetched letter's sealed bytes. */
function markerOf(sealed: string): string {
  const marker = Buffer.from(fromBase64url(sealed) ?? [])
    .toString('latin1')
    .match(MARKER)?.[0];
  if (marker === undefined) throw new Error('a fetched letter carries no marker');
  return marker;
}

interface FetchedLetter {
  id: string;
  sealed: string;
}

describe('an Operator killed under load', () => {
  it('keeps every letter answered 201 and no letter whose ack was answered, in no file', async () => {
    const first = await startOperatorProcess({
      powBits: POW_BITS,
      config: { mail: { mailboxQuotaLetters: 10_000 }, tokens: { perDay: 1_000_000 } },
    });
    started.push(first);
    const client = new TestClient(first.url);
    const sender = makeKomrade('sender');
    expect((await client.register(sender, POW_BITS)).status).toBe(201);
    const recipients: TestKomrade[] = [];
    for (let i = 0; i < RECIPIENTS; i++) {
      const recipient = makeKomrade(`recipient_${i}`);
      expect((await client.register(recipient, POW_BITS)).status).toBe(201);
      recipients.push(recipient);
    }
    const tokens: Token[] = [];
    while (tokens.length < TOKENS) tokens.push(...(await client.tokens(sender, 100)));

    const sent = new Map<string, Sent>();
    /** Acks answered 200: each id with its letter's marker (read from the fetched letter). */
    const acked = new Map<string, string>();
    /** Ids in an ack that got no answer: either outcome is right, so neither is checked. */
    const ackUnanswered = new Set<string>();
    let killed = false;
    // A function, so that the loops read the flag as it is now.
    const killing = (): boolean => killed;
    let sendsInFlight = 0;
    let acksInFlight = 0;

    const sendLoop = async (worker: number): Promise<void> => {
      for (let n = worker; !killing(); n += SENDERS) {
        const token = tokens.pop();
        if (token === undefined) throw new Error('ran out of tokens before the kill');
        const to = (recipients[n % RECIPIENTS] as TestKomrade).name;
        const { marker, sealed } = letter();
        sendsInFlight++;
        try {
          const reply = await client.sendAnonymously(to, sealed, token);
          // An answer that arrives at all was given: it counts even after the kill started.
          expect(reply.status).toBe(201);
          sent.set((reply.json as { id: string }).id, { to, marker, sealed });
        } catch (error) {
          if (!killing()) throw error;
        } finally {
          sendsInFlight--;
        }
      }
    };
    const ackLoop = async (recipient: TestKomrade): Promise<void> => {
      while (!killing()) {
        let fetched: FetchedLetter[];
        try {
          const reply = await client.post('/v1/mail/fetch', { limit: 50 }, { as: recipient });
          expect(reply.status).toBe(200);
          fetched = (reply.json as { letters: FetchedLetter[] }).letters;
        } catch (error) {
          if (!killing()) throw error;
          return;
        }
        // A letter is fetched as soon as it is durable, maybe before its sender's answer arrives.
        const ids = fetched.map((l) => l.id);
        if (ids.length === 0) continue;
        acksInFlight++;
        try {
          const reply = await client.post('/v1/mail/ack', { ids }, { as: recipient });
          expect(reply.json).toEqual({ deleted: ids.length });
          for (const l of fetched) acked.set(l.id, markerOf(l.sealed));
        } catch (error) {
          if (!killing()) throw error;
          for (const id of ids) ackUnanswered.add(id);
        } finally {
          acksInFlight--;
        }
      }
    };

    const loops = [
      ...Array.from({ length: SENDERS }, (_, worker) => sendLoop(worker)),
      ...recipients.map((recipient) => ackLoop(recipient)),
    ];
    const deadline = Date.now() + 60_000;
    while (sent.size < SENDS_BEFORE_KILL || acked.size < ACKS_BEFORE_KILL) {
      if (Date.now() > deadline)
        throw new Error(`too slow: ${sent.size} sent, ${acked.size} acked`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Kill with requests of both kinds in flight: their answers may never come.
    while (sendsInFlight === 0 || acksInFlight === 0) await new Promise(setImmediate);
    killed = true;
    await first.kill();
    expect(await first.exited).toBeNull();
    await Promise.all(loops);

    const ackedMarkers = new Set(acked.values());
    const leftBehind = (dir: string) =>
      [...markersOnDisk(dir)].filter((marker) => ackedMarkers.has(marker));
    const onDisk = markersOnDisk(first.dataDir);
    // The scan sees letters (the unacked ones), and none of the acked ones.
    expect(onDisk.size).toBeGreaterThan(0);
    expect(leftBehind(first.dataDir)).toEqual([]);

    const second = await startOperatorProcess({
      powBits: POW_BITS,
      dataDir: first.dataDir,
      config: { mail: { mailboxQuotaLetters: 10_000 }, tokens: { perDay: 1_000_000 } },
    });
    started.push(second);
    const again = new TestClient(second.url);
    expect((await again.get('/v1/operator')).status).toBe(200);
    expect(leftBehind(second.dataDir)).toEqual([]);

    // Everything each recipient still has, paged through by fetching and acking.
    const present = new Map<string, Buffer>();
    for (const recipient of recipients) {
      for (;;) {
        const reply = await again.post('/v1/mail/fetch', { limit: 500 }, { as: recipient });
        expect(reply.status).toBe(200);
        const letters = (reply.json as { letters: FetchedLetter[] }).letters;
        if (letters.length === 0) break;
        for (const l of letters) present.set(l.id, Buffer.from(fromBase64url(l.sealed) ?? []));
        const ack = await again.post(
          '/v1/mail/ack',
          { ids: letters.map((l) => l.id) },
          { as: recipient },
        );
        expect(ack.status).toBe(200);
      }
    }

    const missing = [...sent.keys()].filter(
      (id) => !acked.has(id) && !ackUnanswered.has(id) && !present.has(id),
    );
    expect(missing).toEqual([]);
    for (const [id, { sealed }] of sent) {
      if (present.has(id)) expect(present.get(id)?.equals(sealed)).toBe(true);
    }
    expect([...acked.keys()].filter((id) => present.has(id))).toEqual([]);
    expect(sent.size).toBeGreaterThanOrEqual(SENDS_BEFORE_KILL);
  }, 120_000);
});
