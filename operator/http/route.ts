/** The shape of a route: a method, a template, and a handler that is public or signed. */
import type { z } from 'zod';
import type { RegisteredKomrade } from '../store/registry.js';
import { parseWith } from '../../common/wire/index.js';
import type { OperatorDeps } from './operator-deps.js';
import type { Reply } from './reply.js';

/** What every handler receives. */
export interface RouteInput {
  readonly deps: OperatorDeps;
  /** The parsed JSON body (`undefined` for GET); still untrusted until a schema parses it. */
  readonly body: unknown;
  /** The request's time, read once. */
  readonly now: number;
  /** Path parameters, e.g. `name` for `/v1/komrades/:name`. */
  readonly params: Readonly<Record<string, string>>;
  /** The request's query string, without the `?` (empty when it has none); still untrusted. */
  readonly query?: string;
  /** Aborted when the client goes away before its answer is sent (a held wait stops then). */
  readonly signal?: AbortSignal;
}

/** What a signed handler receives: also the verified, registered signer. */
export interface SignedRouteInput extends RouteInput {
  readonly signer: RegisteredKomrade;
}

interface RouteBase {
  readonly method: 'GET' | 'POST';
  /** Path template used for routing and logs (never the concrete path: it may hold a name). */
  readonly template: string;
}

/** A route anyone may call. */
export interface PublicRoute extends RouteBase {
  readonly signed: false;
  handle(input: RouteInput): Promise<Reply> | Reply;
}

/**
 * A route that needs a signed request; it also accepts a request MACed in a mailbox session
 * (`Authorization: KomradeSession …`), except the handshake that opens one.
 */
export interface SignedRoute extends RouteBase {
  readonly signed: true;
  /**
   * The session handshake: signed only (no session request), and its nonce is not remembered.
   * @defaultValue false
   */
  readonly handshake?: boolean;
  handle(input: SignedRouteInput): Promise<Reply>;
}

export type Route = PublicRoute | SignedRoute;

/**
 * Parses a body against its schema.
 * @throws KomradeError `BAD_REQUEST` listing the failing paths
 */
export function parseBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
  what: string,
): z.output<S> {
  const parsed = parseWith(schema, body, 'BAD_REQUEST', what);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
