/**
 * Talking to a home's agent. Every failure to reach it reads as "no agent": the caller then asks
 * for the passphrase. A socket left behind by an agent that died is removed on the way.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import { AGENT_KEY_BYTES, OP, REPLY, loadRequest } from './agent-protocol.js';
import { agentDirState, agentPaths, isOurSocket, socketPathFits } from './agent-paths.js';

/**
 * How long to wait for an agent's reply. A live agent answers at once; this only bounds a hung
 * one, so a command never hangs on it.
 */
const REPLY_TIMEOUT_MS = 3_000;

/** The outcome of one request: the reply, no agent (none, or a stale socket now removed), or no answer. */
export type AgentAnswer =
  | { readonly kind: 'reply'; readonly bytes: Buffer }
  | { readonly kind: 'absent' }
  | { readonly kind: 'unsafe' }
  | { readonly kind: 'silent' };

/**
 * Sends one request to the agent of `home` and collects its reply. Never connects through a
 * folder that other users could have put a socket in.
 */
export async function askAgent(home: string, request: Uint8Array): Promise<AgentAnswer> {
  const { dir, socket } = agentPaths(home);
  const state = agentDirState(dir);
  if (state === 'missing') return { kind: 'absent' };
  if (state === 'unsafe') return { kind: 'unsafe' };
  if (!socketPathFits(socket) || !isOurSocket(socket)) return { kind: 'absent' };
  const answer = await exchange(socket, request);
  if (answer === 'refused') {
    // A socket nobody listens on: its agent died without cleaning up.
    rmSync(socket, { force: true });
    return { kind: 'absent' };
  }
  return answer;
}

function exchange(socket: string, request: Uint8Array): Promise<AgentAnswer | 'refused'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const connection = net.createConnection(socket);
    const settle = (answer: AgentAnswer | 'refused') => {
      connection.destroy();
      resolve(answer);
    };
    connection.setTimeout(REPLY_TIMEOUT_MS, () => {
      settle({ kind: 'silent' });
    });
    connection.on('connect', () => connection.write(request));
    connection.on('data', (chunk: Buffer) => chunks.push(chunk));
    connection.on('end', () => {
      const bytes = Buffer.concat(chunks);
      for (const chunk of chunks) chunk.fill(0);
      settle(bytes.length === 0 ? { kind: 'silent' } : { kind: 'reply', bytes });
    });
    connection.on('error', (error: NodeJS.ErrnoException) => {
      settle(error.code === 'ECONNREFUSED' ? 'refused' : { kind: 'absent' });
    });
  });
}

/** Whether an agent answers for `home`. */
export async function agentAnswers(home: string): Promise<boolean> {
  const answer = await askAgent(home, Uint8Array.of(OP.ping));
  return answer.kind === 'reply' && answer.bytes[0] === REPLY.ok;
}

/** The key the agent of `home` holds, or `undefined` (no agent, or none loaded). Wipe it after use. */
export async function agentKey(home: string): Promise<Uint8Array | undefined> {
  const answer = await askAgent(home, Uint8Array.of(OP.key));
  if (answer.kind !== 'reply') return undefined;
  const { bytes } = answer;
  try {
    if (bytes.length !== 1 + AGENT_KEY_BYTES || bytes[0] !== REPLY.ok) return undefined;
    return Uint8Array.from(bytes.subarray(1));
  } finally {
    bytes.fill(0);
  }
}

/** Gives the agent of `home` a key to hold for `seconds`; `true` when it took it. */
export async function loadAgentKey(
  home: string,
  key: Uint8Array,
  seconds: number,
): Promise<boolean> {
  const request = loadRequest(key, seconds);
  try {
    const answer = await askAgent(home, request);
    return answer.kind === 'reply' && answer.bytes[0] === REPLY.ok;
  } finally {
    request.fill(0);
  }
}

/** Asks the agent of `home` to wipe its key and exit. */
export async function stopAgent(home: string): Promise<AgentAnswer['kind']> {
  const answer = await askAgent(home, Uint8Array.of(OP.stop));
  return answer.kind;
}
