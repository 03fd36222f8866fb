/**
 * The Operator's CPU per anonymous send and per token issued, beside a bare node:http request and
 * a signed request (what authenticating a v1 signed send cost), all measured in the same run from
 * the processes' own CPU time (/proc/<pid>/stat).
 */
import { Pool } from 'undici';
import { randomBytes } from '../common/crypto/index.js';
import { toBase64url } from '../common/wire/index.js';
import { startOperatorProcess } from '../test/support/operator-process.js';
import {
  callOperator,
  obtainTokens,
  registerKomrade,
  sendAnonymously,
  tokenKeyOf,
  type Komrade,
  type WireToken,
} from './operator-calls.js';
import { cpuSeconds, startBareServer } from './processes.js';
import { ISSUE_BATCH } from './token-crypto.js';

const CONCURRENCY = 8;
/** A 1 KiB sealed letter: the smallest size class, where per-request costs weigh most. */
const SEALED = toBase64url(randomBytes(1_024));

/** CPU microseconds per operation, and how many operations were measured. */
export interface CpuPerOp {
  readonly cpuUs: number;
  readonly ops: number;
}

export interface AnonymousSendFigures {
  readonly bareRequest: CpuPerOp;
  readonly signedRequest: CpuPerOp;
  readonly anonymousSend: CpuPerOp;
  /** Per token, issued in batches of {@link ISSUE_BATCH}. */
  readonly tokenIssued: CpuPerOp;
}

/**
 * Runs `task` in {@link CONCURRENCY} loops until `ms` pass or a task returns false; the process
 * `pid`'s CPU per completed unit.
 */
async function cpuPer(
  pid: number,
  ms: number,
  task: (worker: number) => Promise<number | false>,
): Promise<CpuPerOp> {
  const before = cpuSeconds(pid);
  const deadline = performance.now() + ms;
  let ops = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (performance.now() < deadline) {
        const done = await task(worker);
        if (done === false) return;
        ops += done;
      }
    }),
  );
  const cpu = cpuSeconds(pid) - before;
  return { cpuUs: ops === 0 ? Number.NaN : Math.round((cpu / ops) * 1e6), ops };
}

/** Each measure runs for `seconds`. */
export async function benchAnonymousSend(seconds: number): Promise<AnonymousSendFigures> {
  const ms = seconds * 1000;
  const fakeToken = {
    epoch: 1,
    input: toBase64url(randomBytes(32)),
    output: toBase64url(randomBytes(64)),
  };
  const bare = await startBareServer();
  let bareRequest: CpuPerOp;
  try {
    const endpoint = {
      origin: bare.url,
      dispatcher: new Pool(bare.url, { connections: CONCURRENCY }),
    };
    // A body of the anonymous send's shape and size.
    bareRequest = await cpuPer(bare.pid, ms, async () => {
      await callOperator(endpoint, '/v2/mail/send', {
        to: 'recipient_0',
        sealed: SEALED,
        token: fakeToken,
      });
      return 1;
    });
    await endpoint.dispatcher.close();
  } finally {
    bare.stop();
  }

  const operator = await startOperatorProcess({
    powBits: 0,
    config: { mail: { mailboxQuotaLetters: 10_000_000 }, tokens: { perDay: 1_000_000 } },
  });
  try {
    const endpoint = {
      origin: operator.url,
      dispatcher: new Pool(operator.url, { connections: CONCURRENCY }),
    };
    const senders: Komrade[] = [];
    const recipients: Komrade[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      senders.push(await registerKomrade(endpoint, `sender_${i}`, 0));
      recipients.push(await registerKomrade(endpoint, `recipient_${i}`, 0));
    }
    const tokenKey = await tokenKeyOf(endpoint);
    const tokens: WireToken[] = [];
    const tokenIssued = await cpuPer(operator.pid, ms, async (worker) => {
      const sender = senders[worker];
      if (sender === undefined) return false;
      tokens.push(...(await obtainTokens(endpoint, sender, tokenKey, ISSUE_BATCH, ISSUE_BATCH)));
      return ISSUE_BATCH;
    });
    const anonymousSend = await cpuPer(operator.pid, ms, async (worker) => {
      const token = tokens.pop();
      const to = recipients[worker];
      if (token === undefined || to === undefined) return false;
      await sendAnonymously(endpoint, to.name, SEALED, token);
      return 1;
    });
    // A signed request that does next to nothing else: what a v1 send paid to authenticate.
    const signedRequest = await cpuPer(operator.pid, ms, async (worker) => {
      const sender = senders[worker];
      if (sender === undefined) return false;
      await callOperator(endpoint, '/v1/mail/fetch', { limit: 1 }, sender);
      return 1;
    });
    await endpoint.dispatcher.close();
    return { bareRequest, signedRequest, anonymousSend, tokenIssued };
  } finally {
    await operator.cleanup();
  }
}
