/**
 * Where a home's agent listens, and the checks that keep other local users away from it: the
 * socket sits in `<home>/agent/` (mode 0700, owned by us) and is itself mode 0600.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';

/** The folder and the socket of the agent for `home`. */
export interface AgentPaths {
  readonly dir: string;
  readonly socket: string;
}

/** Linux's limit on a socket path (108 bytes with the final NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

/** The agent's folder and socket in `home`. */
export function agentPaths(home: string): AgentPaths {
  const dir = join(home, 'agent');
  return { dir, socket: join(dir, 'socket') };
}

/** Whether a socket can be bound at this path (its length is limited by the kernel). */
export const socketPathFits = (socket: string): boolean =>
  Buffer.byteLength(socket) <= MAX_SOCKET_PATH_BYTES;

/**
 * The state of the agent folder: `missing`, `private` (a real folder of ours that no one else
 * may enter), or `unsafe` (anything else: a symlink, another owner, group or world access).
 * Unix sockets give Node no peer credentials, so these permissions are what keeps another
 * local user from connecting.
 */
export function agentDirState(dir: string): 'missing' | 'private' | 'unsafe' {
  let stats;
  try {
    stats = lstatSync(dir);
  } catch {
    return 'missing';
  }
  const uid = process.getuid?.();
  const ours = uid !== undefined && stats.uid === uid;
  return stats.isDirectory() && ours && (stats.mode & 0o077) === 0 ? 'private' : 'unsafe';
}

/** Whether `socket` is a socket file owned by us (not something else left at that name). */
export function isOurSocket(socket: string): boolean {
  try {
    const stats = lstatSync(socket);
    return stats.isSocket() && stats.uid === process.getuid?.();
  } catch {
    return false;
  }
}
