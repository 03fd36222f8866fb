/**
 * MailboxSessions (the client's side) against the Operator's own SessionTable and MAC check, in
 * this process: one handshake per signer, MACs with fresh numbers, reopening, renewal, and
 * grants that do not verify.
 */
import { describe, expect, it } from 'vitest';
import { MailboxSessions, type RequestSigner } from '../../client/index.js';
import {
  generateIdentityKeys,
  sessionMacVerifies,
  signDetached,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  SESSION_TTL_MS,
  parseSessionAuth,
  sessionGrantBytes,
  sessionRequestBytes,
  type SessionOpenResponse,
} from '../../common/wire/index.js';
import { SessionTable } from '../../operator/index.js';

const operator = generateIdentityKeys();
const ann: RequestSigner = { name: 'ann', signSecret: generateIdentityKeys().signSecret };
const bob: RequestSigner = { name: 'bob', signSecret: generateIdentityKeys().signSecret };
const request = { method: 'POST', path: '/v1/mail/fetch', body: new TextEncoder().encode('{}') };

/** An Operator in miniature: its session table, its handshake and its check of a request. */
function world(
  options: {
    forge?: (grant: SessionOpenResponse, clientKey: Uint8Array) => SessionOpenResponse;
  } = {},
) {
  let clock = 1_000_000;
  let table = new SessionTable();
  const handshakes: string[] = [];
  const sessions = new MailboxSessions({
    now: () => clock,
    operatorKey: () => Promise.resolve(operator.signPublic),
    handshake: async (signer, clientKey) => {
      await Promise.resolve();
      handshakes.push(signer.name);
      const opened = table.open(signer.name, clientKey, clock);
      const grant = {
        session: opened.session,
        serverKey: opened.serverKey,
        expiresAt: opened.expiresAt,
        sig: signDetached(
          sessionGrantBytes({ name: signer.name, clientKey, ...opened }),
          operator.signSecret,
        ),
      };
      return options.forge?.(grant, clientKey) ?? grant;
    },
  });
  /** What the Operator does with a session request: the owner's name, or its refusal. */
  const serve = (authorization: string): Promise<string> => {
    const parsed = parseSessionAuth(authorization);
    if (!parsed.ok) throw parsed.error;
    const found = table.find(parsed.value.session, clock);
    if (found === undefined) throw new KomradeError('SESSION_UNKNOWN', 'gone');
    const bytes = sessionRequestBytes({ ...request, ...parsed.value });
    if (!sessionMacVerifies(found.key, parsed.value.mac, bytes)) {
      throw new KomradeError('BAD_SIGNATURE', 'mac');
    }
    if (!found.window.accept(parsed.value.seq)) throw new KomradeError('REPLAY', 'seen');
    return Promise.resolve(found.name);
  };
  return {
    sessions,
    handshakes,
    serve,
    run: (signer: RequestSigner) => sessions.run(signer, request, serve),
    advance: (ms: number) => {
      clock += ms;
    },
    restart: () => {
      table = new SessionTable();
    },
  };
}

describe('MailboxSessions', () => {
  it('opens one session per signer, shared by concurrent requests, each with a new number', async () => {
    const w = world();
    const seqs: number[] = [];
    const names = await Promise.all(
      [ann, ann, bob, ann, bob].map((signer) =>
        w.sessions.run(signer, request, (authorization) => {
          const parsed = parseSessionAuth(authorization);
          if (parsed.ok && signer === ann) seqs.push(parsed.value.seq);
          return w.serve(authorization);
        }),
      ),
    );
    expect(names).toEqual(['ann', 'ann', 'bob', 'ann', 'bob']);
    expect(w.handshakes.sort()).toEqual(['ann', 'bob']);
    expect(new Set(seqs).size).toBe(3);
  });

  it('opens a new session once when the Operator forgot the old one', async () => {
    const w = world();
    expect(await w.run(ann)).toBe('ann');
    w.restart();
    expect(await w.run(ann)).toBe('ann');
    expect(w.handshakes).toEqual(['ann', 'ann']);
  });

  it('gives up after one new session', async () => {
    const w = world();
    const refused = w.sessions.run(ann, request, () =>
      Promise.reject(new KomradeError('SESSION_UNKNOWN', 'gone')),
    );
    await expect(refused).rejects.toMatchObject({ code: 'SESSION_UNKNOWN' });
    expect(w.handshakes).toEqual(['ann', 'ann']);
  });

  it('sends again with a fresh number after a REPLAY, once', async () => {
    const w = world();
    let calls = 0;
    const seqs: number[] = [];
    const answer = await w.sessions.run(ann, request, (authorization) => {
      const parsed = parseSessionAuth(authorization);
      if (parsed.ok) seqs.push(parsed.value.seq);
      if (++calls === 1) return Promise.reject(new KomradeError('REPLAY', 'too old'));
      return w.serve(authorization);
    });
    expect(answer).toBe('ann');
    expect(seqs).toEqual([0, 1]);
    expect(w.handshakes).toEqual(['ann']);
  });

  it('renews a session before it expires', async () => {
    const w = world();
    await w.run(ann);
    w.advance(SESSION_TTL_MS / 2);
    await w.run(ann);
    expect(w.handshakes).toHaveLength(1);
    w.advance(SESSION_TTL_MS / 2 - 60_000);
    await w.run(ann);
    expect(w.handshakes).toHaveLength(2);
  });

  it('refuses a grant that does not verify under the Operator key, and sends nothing in it', async () => {
    const mallory = generateIdentityKeys();
    const w = world({
      forge: (grant) => ({ ...grant, sig: signDetached(new Uint8Array(8), mallory.signSecret) }),
    });
    let sent = 0;
    const refused = w.sessions.run(ann, request, () => {
      sent++;
      return Promise.resolve('');
    });
    await expect(refused).rejects.toMatchObject({ code: 'OPERATOR_ERROR' });
    expect(sent).toBe(0);
    // Not kept: the next request tries a handshake again.
    await expect(w.run(ann)).rejects.toMatchObject({ code: 'OPERATOR_ERROR' });
    expect(w.handshakes).toHaveLength(2);
  });

  it('refuses a grant for a low-order server key', async () => {
    const w = world({
      forge: (grant, clientKey) => {
        const serverKey = new Uint8Array(32);
        return {
          ...grant,
          serverKey,
          sig: signDetached(
            sessionGrantBytes({
              name: 'ann',
              // Signed by the real key over an unusable one: only the exchange catches it.
              clientKey,
              serverKey,
              session: grant.session,
              expiresAt: grant.expiresAt,
            }),
            operator.signSecret,
          ),
        };
      },
    });
    await expect(w.run(ann)).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });
});
