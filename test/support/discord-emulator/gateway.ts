/** The emulated gateway: WebSocket connections, sessions with their backlog, identify and resume. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { BACKLOG_LIMIT, Op } from './protocol.js';
import { isObject } from './replies.js';
import { rawText } from './request-body.js';
import type { Connection, Json, Session } from './state.js';
import type { GatewayStats } from './types.js';

/** What the gateway needs from the emulator around it. */
export interface GatewayHost {
  readonly token: string;
  readonly heartbeatIntervalMs: number;
  /** Counters the gateway keeps up to date. */
  readonly stats: GatewayStats;
  /** The READY payload for a new session, and the GUILD_CREATE payloads to send after it. */
  readonly ready: (sessionId: string) => { ready: Json; guilds: Json[] };
}

/** Sessions outlive connections, so a client can resume and get what it missed. */
export class Gateway {
  readonly #host: GatewayHost;
  readonly #sessions = new Map<string, Session>();
  readonly #connections = new Set<Connection>();

  constructor(host: GatewayHost) {
    this.#host = host;
  }

  /** Closes every open connection with `code`; a session left resumable can be resumed. */
  disconnect(code: number, resumable: boolean): number {
    let closed = 0;
    for (const connection of this.#connections) {
      if (connection.socket.readyState !== connection.socket.OPEN) continue;
      if (!resumable && connection.session !== undefined) connection.session.ended = true;
      connection.closedByServer = true;
      connection.socket.close(code, 'Emulated disconnect');
      closed++;
    }
    return closed;
  }

  /** Drops every connection at once (on close). */
  terminate(): void {
    for (const connection of this.#connections) connection.socket.terminate();
  }

  liveSessions(): Session[] {
    return [...this.#sessions.values()].filter((session) => !session.ended);
  }

  /** Sends an event to every live session whose intents ask for it (0: no intent needed). */
  dispatch(event: string, data: Json, intent: number): void {
    for (const session of this.liveSessions()) {
      if (intent === 0 || (session.intents & intent) !== 0) this.send(session, event, data);
    }
  }

  /** Numbers the event in the session, keeps it for a resume and sends it if connected. */
  send(session: Session, event: string, data: Json): void {
    session.seq++;
    const frame = JSON.stringify({ op: Op.Dispatch, t: event, s: session.seq, d: data });
    session.backlog.push({ s: session.seq, frame });
    if (session.backlog.length > BACKLOG_LIMIT) session.backlog.shift();
    const socket = session.socket;
    if (socket !== undefined && socket.readyState === socket.OPEN) socket.send(frame);
  }

  onConnection(socket: WebSocket, req: IncomingMessage): void {
    const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    const connection: Connection = { socket, session: undefined, closedByServer: false };
    this.#connections.add(connection);
    this.#host.stats.connections++;
    socket.on('close', (code) => {
      this.#connections.delete(connection);
      const session = connection.session;
      if (session?.socket !== socket) return;
      session.socket = undefined;
      // A client that closes with 1000 or 1001 ends its session; other codes may resume.
      if (!connection.closedByServer && (code === 1000 || code === 1001)) session.ended = true;
    });
    socket.on('error', () => undefined);
    if (query.get('v') !== '10') {
      socket.close(4012, 'Invalid API version');
      return;
    }
    if (query.get('encoding') !== 'json' || query.has('compress')) {
      // The emulator speaks only uncompressed JSON.
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    socket.on('message', (data) => {
      this.#onFrame(connection, data);
    });
    socket.send(
      JSON.stringify({
        op: Op.Hello,
        d: { heartbeat_interval: this.#host.heartbeatIntervalMs, _trace: ['emulator'] },
        s: null,
        t: null,
      }),
    );
  }

  #onFrame(connection: Connection, data: RawData): void {
    const { socket } = connection;
    let payload: unknown;
    try {
      payload = JSON.parse(rawText(data));
    } catch {
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    if (!isObject(payload) || typeof payload.op !== 'number') {
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const d = isObject(payload.d) ? payload.d : {};
    switch (payload.op) {
      case Op.Heartbeat:
        this.#host.stats.heartbeats++;
        socket.send(JSON.stringify({ op: Op.HeartbeatAck }));
        return;
      case Op.Identify:
        this.#identify(connection, d);
        return;
      case Op.Resume:
        this.#resume(connection, d);
        return;
      case Op.PresenceUpdate:
      case Op.VoiceStateUpdate:
      case Op.RequestGuildMembers:
        if (connection.session === undefined) socket.close(4003, 'Not authenticated.');
        return;
      default:
        socket.close(4001, 'Unknown opcode.');
    }
  }

  #identify(connection: Connection, d: Json): void {
    const { socket } = connection;
    if (connection.session !== undefined) {
      socket.close(4005, 'Already authenticated.');
      return;
    }
    if (d.token !== this.#host.token) {
      socket.close(4004, 'Authentication failed.');
      return;
    }
    if (typeof d.intents !== 'number') {
      socket.close(4013, 'Invalid intent(s).');
      return;
    }
    this.#host.stats.identifies++;
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      intents: d.intents,
      seq: 0,
      socket,
      ended: false,
      backlog: [],
    };
    this.#sessions.set(session.id, session);
    connection.session = session;
    const { ready, guilds } = this.#host.ready(session.id);
    this.send(session, 'READY', ready);
    for (const guild of guilds) this.send(session, 'GUILD_CREATE', guild);
  }

  #resume(connection: Connection, d: Json): void {
    const session = typeof d.session_id === 'string' ? this.#sessions.get(d.session_id) : undefined;
    const seq = typeof d.seq === 'number' ? d.seq : 0;
    const oldest = session?.backlog[0]?.s ?? 1;
    if (
      session === undefined ||
      session.ended ||
      d.token !== this.#host.token ||
      seq < oldest - 1
    ) {
      this.#host.stats.invalidSessions++;
      connection.socket.send(JSON.stringify({ op: Op.InvalidSession, d: false }));
      return;
    }
    // Discord drops an older connection still attached to the session.
    for (const other of this.#connections) {
      if (other !== connection && other.session === session) {
        other.closedByServer = true;
        other.socket.close(4000, 'Session resumed elsewhere');
      }
    }
    this.#host.stats.resumes++;
    connection.session = session;
    session.socket = connection.socket;
    for (const entry of session.backlog) {
      if (entry.s > seq) connection.socket.send(entry.frame);
    }
    this.send(session, 'RESUMED', { _trace: ['emulator'] });
  }
}
