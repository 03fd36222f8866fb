/** The Operator's HTTP server on bare node:http: routing, body limits, auth, one error boundary. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { KomradeError } from '../../common/errors/index.js';
import { silentLogger, type Logger } from '../../common/logging/index.js';
import type { OperatorConfig } from '../config/operator-config.js';
import type { OperatorKeys } from '../keys/load-operator-keys.js';
import type { OperatorStore } from '../store/operator-store.js';
import { isSessionAuth } from '../../common/wire/index.js';
import { authenticate, authenticateSession } from './authenticate.js';
import type { Clock } from '../clock.js';
import type { OperatorDeps } from './operator-deps.js';
import { readBody } from './read-body.js';
import { CollectiveService } from '../collectives/collective-service.js';
import { MailWaiters } from '../mail/mail-waiters.js';
import { VerifiedWaitProofs } from '../mail/verified-wait-proofs.js';
import { CheckpointSigner } from '../registry-log/checkpoint-signer.js';
import { renderError, sendJson, type Reply } from './reply.js';
import { SessionTable } from '../sessions/session-table.js';
import { TokenVerifier } from '../tokens/check-token.js';
import { matchRoute } from './route-table.js';

/** Options for {@link createOperatorServer}. */
export interface OperatorServerOptions {
  readonly config: OperatorConfig;
  readonly store: OperatorStore;
  /** The Operator's keys (see `loadOperatorKeys`). */
  readonly keys: OperatorKeys;
  /** @defaultValue a silent logger */
  readonly logger?: Logger;
  /** @defaultValue `Date.now` */
  readonly now?: Clock;
  /** @defaultValue a new service over `store` (its cache starts empty and replays from disk) */
  readonly collectives?: CollectiveService;
  /** @defaultValue a new, empty index (one per process: the server closes it on shutdown) */
  readonly mailWaiters?: MailWaiters;
  /** Mailbox sessions. @defaultValue a new, empty table (memory only: a restart forgets them) */
  readonly sessions?: SessionTable;
}

/** A running (or ready to run) Operator HTTP server. */
export interface OperatorServer {
  /** The underlying node:http server. */
  readonly server: Server;
  /**
   * Listens on the configured host and port (or `port` if given; 0 picks a free port).
   * @returns the base URL, e.g. `http://127.0.0.1:8470`
   */
  listen(port?: number): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, then resolves. Does not close the store. */
  close(): Promise<void>;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** After this long, connections still open at shutdown are cut. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long a client may take to send its request headers. */
const HEADERS_TIMEOUT_MS = 30_000;

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim();
  return type.toLowerCase() === 'application/json';
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(body));
  } catch {
    throw new KomradeError('BAD_REQUEST', 'The request body is not valid JSON.');
  }
}

/**
 * Builds the Operator's server. Nothing listens until {@link OperatorServer.listen}.
 * @example
 * ```ts
 * const operator = createOperatorServer({ config, store, keys, logger });
 * const url = await operator.listen();
 * ```
 */
export function createOperatorServer(options: OperatorServerOptions): OperatorServer {
  const deps: OperatorDeps = {
    config: options.config,
    store: options.store,
    keys: options.keys,
    tokens: new TokenVerifier(options.keys.token),
    logger: options.logger ?? silentLogger,
    now: options.now ?? Date.now,
    collectives: options.collectives ?? new CollectiveService({ store: options.store }),
    mailWaiters: options.mailWaiters ?? new MailWaiters(),
    waitProofs: new VerifiedWaitProofs(),
    sessions: options.sessions ?? new SessionTable(),
    checkpoints: new CheckpointSigner(options.keys),
  };
  const { logger } = deps;
  const bodyLimits = {
    maxBytes: deps.config.http.maxRequestBytes,
    timeoutMs: deps.config.http.bodyTimeoutSeconds * 1_000,
  };
  let closing = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const search = query === -1 ? '' : url.slice(query + 1);
    let template = '(unmatched)';
    let status: number;
    if (closing) res.setHeader('connection', 'close');
    // Held waits end when their client goes away: nothing stays behind for a closed socket.
    const gone = new AbortController();
    const signal = gone.signal;
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    try {
      const { route, params } = matchRoute(method, path);
      template = route.template;
      let raw = EMPTY;
      if (method === 'POST') {
        if (!isJson(req.headers['content-type'])) {
          throw new KomradeError('BAD_REQUEST', 'Content-Type must be application/json.');
        }
        raw = await readBody(req, bodyLimits);
      }
      const now = deps.now();
      const bodyOf = (): unknown => (method === 'POST' ? parseJson(raw) : undefined);
      let reply: Reply;
      if (route.signed) {
        const authorization = req.headers.authorization;
        const parts = { authorization, method, path, body: raw, now };
        // A session request writes nothing; a signed one remembers its nonce, but the handshake's.
        const signer =
          route.handshake !== true && isSessionAuth(authorization)
            ? await authenticateSession(deps, parts)
            : await authenticate(deps, parts, { rememberNonce: route.handshake !== true });
        reply = await route.handle({
          deps,
          body: bodyOf(),
          now,
          params,
          query: search,
          signer,
          signal,
        });
      } else {
        reply = await route.handle({ deps, body: bodyOf(), now, params, query: search, signal });
      }
      // No answer before what this request changed is on disk.
      await deps.store.durable();
      status = reply.status;
      // A wait held across the start of shutdown must not keep its connection alive after.
      if (closing) res.setHeader('connection', 'close');
      sendJson(res, status, JSON.stringify(reply.body));
    } catch (error) {
      // A refusal may follow a write (the nonce of a request refused later): flush it too.
      await deps.store.durable().catch(() => undefined);
      const hasBody =
        req.headers['transfer-encoding'] !== undefined ||
        Number(req.headers['content-length'] ?? 0) > 0;
      if (hasBody && !req.complete) {
        // The body was refused or cut short: answer, then close rather than drain it.
        res.setHeader('connection', 'close');
        res.once('finish', () => req.destroy());
      }
      const rendered = renderError(res, error);
      status = rendered.status;
      if (rendered.unexpected) {
        // Only the error's type: its message or cause might quote content.
        logger.error('request.failed', {
          method,
          route: template,
          errorType: error instanceof Error ? error.constructor.name : typeof error,
        });
      }
    }
    // The route's pattern, never the path: a path may hold a name.
    logger.info('request', {
      method,
      route: template,
      status,
      ms: Math.round((performance.now() - started) * 100) / 100,
    });
  }

  const server = createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      // A backstop only: readBody's own deadline answers a slow body first, with a 408. It stops
      // counting once the request is in, so it never cuts a held wait for mail (nor does the
      // keep-alive timeout, which runs only between requests).
      requestTimeout: HEADERS_TIMEOUT_MS + bodyLimits.timeoutMs + 30_000,
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });

  return {
    server,
    listen: (port) =>
      new Promise<string>((resolve, reject) => {
        const onError = (error: Error) => {
          reject(error);
        };
        server.once('error', onError);
        server.listen(port ?? deps.config.http.port, deps.config.http.host, () => {
          server.off('error', onError);
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${host}:${address.port}`);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        // Held waits answer `{ ready: [] }` now instead of holding shutdown up.
        deps.mailWaiters.close();
        if (!server.listening) {
          resolve();
          return;
        }
        const force = setTimeout(() => {
          server.closeAllConnections();
        }, SHUTDOWN_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          // Session keys do not outlive the server that made them.
          deps.sessions.clear();
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
