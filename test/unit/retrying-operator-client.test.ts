/** RetryingOperatorClient: which failures are retried, how often, how it says so; fake timers only. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HttpOperatorClient,
  RetryingOperatorClient,
  describeTransientFailure,
  failedBeforeSending,
  type OperatorClient,
  type OperatorRetry,
  type RequestSigner,
} from '../../client/index.js';
import { retryMessage } from '../../adapters/cli/session.js';
import { generateIdentityKeys } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { TorError, isTransientTorError } from '../../tor/index.js';
import { eventHash } from '../../common/collectives/index.js';
import type { CollectiveHead } from '../../common/wire/index.js';
import { CollectiveWriter } from '../support/collective-writer.js';

const signer: RequestSigner = { name: 'alice', signSecret: generateIdentityKeys().signSecret };
const HEAD: CollectiveHead = {
  collective: 'c',
  length: 0,
  head: new Uint8Array(32),
  lastAt: 0,
};

const notPublished = () =>
  new TorError('Tor could not connect: onion service descriptor not found', {
    transient: true,
    socksReply: 0xf0,
  });
/** A failure after the request may have been written: HttpOperatorClient's wrapping of a timeout. */
const lostAnswer = () =>
  new KomradeError('OPERATOR_UNREACHABLE', 'Could not reach the Operator.', {
    cause: Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
  });

/** An inner client whose every operation fails with `failures` in turn, then answers. */
function scripted(failures: Error[], head: CollectiveHead = HEAD) {
  const calls: string[] = [];
  const answer = <T>(operation: string, value: T) => {
    calls.push(operation);
    const failure = failures.shift();
    return failure === undefined ? Promise.resolve(value) : Promise.reject(failure);
  };
  const inner: OperatorClient = {
    info: () => answer('info', { powBits: 8 } as never),
    register: () => answer('register', {} as never),
    lookup: () => answer('lookup', {} as never),
    setRatchetKey: () => answer('setRatchetKey', {} as never),
    logCheckpoint: () => answer('logCheckpoint', ''),
    logConsistency: () => answer('logConsistency', []),
    logEntries: () => answer('logEntries', []),
    uploadPrekeys: () =>
      answer('uploadPrekeys', { oneTimeLeft: 0, signedPrekey: false, kyberPrekey: false }),
    fetchPrekeyBundle: () => answer('fetchPrekeyBundle', {} as never),
    issueTokens: () =>
      answer('issueTokens', { epoch: 1, evaluated: [], proof: new Uint8Array(64), left: 0 }),
    sendAnonymously: () => answer('sendAnonymously', { id: new Uint8Array(16), receivedAt: 1 }),
    fetch: () => answer('fetch', { letters: [], more: false }),
    ack: () => answer('ack', 0),
    waitForMail: () => answer('waitForMail', { ready: [] }),
    post: () => answer('post', { id: new Uint8Array(16), expiresAt: 2 }),
    feedPage: () => answer('feedPage', new Uint8Array(1)),
    createCollective: () => answer('createCollective', head),
    appendEvent: () => answer('appendEvent', head),
    collectiveHead: () => answer('collectiveHead', head),
    collectiveLog: () =>
      answer('collectiveLog', { collective: 'c', from: 0, events: [], length: 0, receipts: [] }),
    sendToCollective: () =>
      answer('sendToCollective', { id: new Uint8Array(16), receivedAt: 1, recipients: 1 }),
  };
  return { inner, calls };
}

/** Settles `promise` while fake timers run every backoff wait. */
async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  return outcome;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RetryingOperatorClient', () => {
  it('retries transient Tor failures with exponential backoff and says why', async () => {
    const { inner, calls } = scripted([notPublished(), notPublished()]);
    const retries: OperatorRetry[] = [];
    const client = new RetryingOperatorClient(inner, { onRetry: (r) => retries.push(r) });
    expect(await settle(client.info())).toEqual({ value: { powBits: 8 } });
    expect(calls).toEqual(['info', 'info', 'info']);
    expect(retries.map((r) => [r.operation, r.attempt, r.attempts, r.reason, r.tor])).toEqual([
      ['info', 1, 6, 'descriptor not published', true],
      ['info', 2, 6, 'descriptor not published', true],
    ]);
    // 1 s then 2 s, each ±20% jitter.
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(800);
    expect(retries[0]!.delayMs).toBeLessThanOrEqual(1_200);
    expect(retries[1]!.delayMs).toBeGreaterThanOrEqual(1_600);
    expect(retries[1]!.delayMs).toBeLessThanOrEqual(2_400);
  });

  it('gives up after the allowed attempts with a clear, still transient, TOR_UNAVAILABLE', async () => {
    const { inner, calls } = scripted(Array.from({ length: 5 }, notPublished));
    const client = new RetryingOperatorClient(inner, { attempts: 3, baseMs: 10 });
    const { error } = await settle(client.lookup('bob'));
    expect(calls).toHaveLength(3);
    expect(error).toBeInstanceOf(TorError);
    expect((error as TorError).code).toBe('TOR_UNAVAILABLE');
    expect((error as Error).message).toBe(
      "Could not reach the Operator's onion service through Tor (descriptor not published), 3 attempts.",
    );
    expect(isTransientTorError(error)).toBe(true);
  });

  it('passes on at once what a retry cannot fix', async () => {
    for (const failure of [
      new KomradeError('NAME_TAKEN', 'taken'),
      new TorError('no Tor SOCKS proxy is listening on the configured port', { transient: false }),
      new KomradeError('OPERATOR_UNREACHABLE', 'refused', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
      new KomradeError('INTERNAL', 'server error'),
    ]) {
      const { inner, calls } = scripted([failure]);
      const client = new RetryingOperatorClient(inner, { onRetry: () => expect.fail('retried') });
      expect((await settle(client.register({} as never))).error).toBe(failure);
      expect(calls).toHaveLength(1);
    }
  });

  it('resends an anonymous letter (same token) after a lost answer, but a post only when nothing was sent', async () => {
    const send = scripted([lostAnswer()]);
    const sender = new RetryingOperatorClient(send.inner, { baseMs: 10 });
    const letter = {
      to: 'bob',
      sealed: new Uint8Array(1_024),
      token: { epoch: 1, input: new Uint8Array(32), output: new Uint8Array(64) },
    };
    expect((await settle(sender.sendAnonymously(letter))).value).toMatchObject({ receivedAt: 1 });
    expect(send.calls).toEqual(['sendAnonymously', 'sendAnonymously']);
    const issue = scripted([lostAnswer()]);
    const issuer = new RetryingOperatorClient(issue.inner, { baseMs: 10 });
    expect((await settle(issuer.issueTokens(signer, [], 1))).value).toMatchObject({ left: 0 });
    expect(issue.calls).toEqual(['issueTokens', 'issueTokens']);

    const lost = scripted([lostAnswer()]);
    const poster = new RetryingOperatorClient(lost.inner, { baseMs: 10 });
    expect((await settle(poster.post(signer, new Uint8Array(1)))).error).toMatchObject({
      code: 'OPERATOR_UNREACHABLE',
    });
    expect(lost.calls).toEqual(['post']);

    const unsent = scripted([notPublished()]);
    const retried = new RetryingOperatorClient(unsent.inner, { baseMs: 10 });
    expect((await settle(retried.post(signer, new Uint8Array(1)))).value).toMatchObject({
      expiresAt: 2,
    });
    expect(unsent.calls).toEqual(['post', 'post']);
  });

  it('after a lost answer, takes a refused resend of an event that landed as success', async () => {
    const writer = new CollectiveWriter();
    writer.genesis('portland', ['alice']);
    const vouchless = writer.act('join-request', 'bob', { note: '' });
    const landed: CollectiveHead = {
      collective: 'portland',
      length: 2,
      head: eventHash(vouchless.signed),
      lastAt: 0,
    };
    const conflict = new KomradeError('COLLECTIVE_CONFLICT', 'moved on');
    const done = scripted([lostAnswer(), conflict], landed);
    const client = new RetryingOperatorClient(done.inner, { baseMs: 10 });
    expect((await settle(client.appendEvent(signer, vouchless))).value).toEqual(landed);
    expect(done.calls).toEqual(['appendEvent', 'appendEvent', 'collectiveHead']);

    // The head shows someone else's event at that seq: the refusal is passed on.
    const other = scripted([lostAnswer(), conflict], { ...landed, head: new Uint8Array(32) });
    const refused = new RetryingOperatorClient(other.inner, { baseMs: 10 });
    expect((await settle(refused.appendEvent(signer, vouchless))).error).toBe(conflict);

    // A first refusal is never second-guessed: nothing was lost.
    const first = scripted([conflict], landed);
    const plain = new RetryingOperatorClient(first.inner, { baseMs: 10 });
    expect((await settle(plain.appendEvent(signer, vouchless))).error).toBe(conflict);
    expect(first.calls).toEqual(['appendEvent']);
  });

  it('stops waiting once aborted', async () => {
    const { inner, calls } = scripted(Array.from({ length: 5 }, notPublished));
    const abort = new AbortController();
    const client = new RetryingOperatorClient(inner, {
      signal: abort.signal,
      onRetry: () => {
        abort.abort();
      },
    });
    expect((await settle(client.fetch(signer))).error).toBeInstanceOf(TorError);
    expect(calls).toHaveLength(1);
  });

  it('signs each attempt afresh, so a retried request is never a replay', async () => {
    vi.useRealTimers();
    const authorizations: string[] = [];
    // Hangs up on the first request after reading it (its answer is lost), answers the second.
    const server = createServer((req, res) => {
      authorizations.push(req.headers.authorization ?? '');
      req.resume();
      req.on('end', () => {
        if (authorizations.length === 1) req.socket.destroy();
        else
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end('{"letters":[],"more":false}');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const dispatcher = new Agent();
    try {
      const http = new HttpOperatorClient({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        dispatcher,
        now: Date.now,
        // Signed requests (a session request's retry takes a fresh sequence number likewise).
        sessions: false,
      });
      const client = new RetryingOperatorClient(http, { baseMs: 0, maxMs: 0 });
      expect(await client.fetch(signer)).toEqual({ letters: [], more: false });
      expect(authorizations).toHaveLength(2);
      const nonces = authorizations.map((a) => /nonce=([\w-]+)/.exec(a)?.[1]);
      expect(nonces[0]).toMatch(/^[\w-]{22}$/);
      expect(nonces[1]).not.toBe(nonces[0]);
    } finally {
      await dispatcher.close();
      await new Promise((done) => server.close(done));
    }
  });
});

describe('failure descriptions', () => {
  it('tells apart failures before sending from lost answers', () => {
    expect(failedBeforeSending(notPublished())).toBe(true);
    expect(
      failedBeforeSending(
        new KomradeError('OPERATOR_UNREACHABLE', 'x', {
          cause: Object.assign(new Error(), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
        }),
      ),
    ).toBe(true);
    expect(failedBeforeSending(lostAnswer())).toBe(false);
  });

  it('names the reason in a few words', () => {
    expect(describeTransientFailure(notPublished())).toEqual({
      reason: 'descriptor not published',
      tor: true,
    });
    expect(
      describeTransientFailure(
        new TorError('Tor could not connect: x', { transient: true, socksReply: 0xf3 }),
      ),
    ).toEqual({ reason: 'rendezvous failed', tor: true });
    expect(
      describeTransientFailure(
        new TorError('timed out waiting for Tor to open the connection', { transient: true }),
      ),
    ).toEqual({ reason: 'timed out waiting for Tor to open the connection', tor: true });
    expect(describeTransientFailure(lostAnswer())).toEqual({
      reason: 'no answer in time',
      tor: false,
    });
    expect(describeTransientFailure(new Error('reset'))).toEqual({
      reason: 'connection lost',
      tor: false,
    });
  });

  it('becomes the CLI line on stderr', () => {
    const retry: OperatorRetry = {
      operation: 'sendAnonymously',
      attempt: 1,
      attempts: 6,
      delayMs: 2_100,
      reason: 'descriptor not published',
      tor: true,
    };
    expect(retryMessage(retry, 'onion')).toBe(
      'Tor: onion service not reachable yet (descriptor not published); retrying in 2 s… (attempt 2 of 6)',
    );
    expect(retryMessage({ ...retry, tor: false, reason: 'no answer in time' }, 'onion')).toMatch(
      /^Tor: the onion service did not answer \(no answer in time\); retrying in 2 s/,
    );
    expect(retryMessage({ ...retry, tor: false, delayMs: 300 }, 'loopback')).toMatch(
      /^Operator not reachable \(descriptor not published\); retrying in 1 s/,
    );
  });
});
