/** What the emulator keeps about guilds, sessions and requests (not seen by tests). */
import type { WebSocket } from 'ws';
import type {
  EmulatedChannel,
  EmulatedGuild,
  EmulatedMessage,
  EmulatedUser,
  InteractionReply,
  RegisteredCommand,
} from './types.js';

export interface Member {
  readonly user: EmulatedUser;
  readonly roles: string[];
  readonly joinedAt: string;
}

export interface Role {
  readonly id: string;
  readonly name: string;
  readonly permissions: bigint;
  readonly position: number;
  readonly managed: boolean;
  readonly botId?: string;
}

export interface GuildState {
  readonly guild: EmulatedGuild;
  readonly roles: Role[];
  readonly channels: Map<string, EmulatedChannel>;
  readonly members: Map<string, Member>;
  readonly createdAt: number;
}

/** A direct-message channel between the bot and one user. */
export interface DmChannel {
  readonly id: string;
  readonly user: EmulatedUser;
}

export interface InteractionState {
  readonly id: string;
  readonly token: string;
  readonly channel: EmulatedChannel;
  readonly user: EmulatedUser;
  readonly commandName: string;
  reply: InteractionReply | undefined;
  original: EmulatedMessage | undefined;
  expired: boolean;
  settled: boolean;
  readonly resolve: (reply: InteractionReply) => void;
  readonly reject: (error: Error) => void;
  readonly timers: NodeJS.Timeout[];
}

export interface Session {
  readonly id: string;
  readonly intents: number;
  seq: number;
  socket: WebSocket | undefined;
  ended: boolean;
  readonly backlog: { readonly s: number; readonly frame: string }[];
}

export interface Connection {
  readonly socket: WebSocket;
  session: Session | undefined;
  closedByServer: boolean;
}

export interface ApiRequest {
  readonly method: string;
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** The parsed JSON as sent (an array for bulk command overwrites). */
  readonly json: unknown;
  /** The JSON if it is an object, else empty. */
  readonly body: Json;
  readonly files: { readonly filename: string; readonly size: number; readonly data?: Buffer }[];
  readonly authorized: boolean;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

export type Params = ReadonlyMap<string, string>;
export interface Route {
  readonly method: string;
  readonly pattern: readonly string[];
  /** Needs `Authorization: Bot <token>`. */
  readonly auth: boolean;
  readonly handle: (request: ApiRequest, params: Params) => Reply;
}

export type Json = Record<string, unknown>;

/** Where the emulator listens: known only once it started, so read when needed. */
export interface Endpoints {
  /** The REST base, `http://127.0.0.1:<port>/api`. */
  readonly api: () => string;
  /** Where files users attached are served. */
  readonly cdn: () => string;
  readonly gateway: () => string;
}

/** A registered command, with the JSON the bot sent (echoed back in Discord's answers). */
export type StoredCommand = RegisteredCommand & { readonly raw: Json };

/** The `resolved` part of an interaction: what its options refer to. */
export interface Resolved {
  users: Json;
  members: Json;
  channels: Json;
  roles: Json;
  attachments: Json;
}
