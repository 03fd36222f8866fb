/**
 * The HTTP side: serves uploads like Discord's CDN, and REST under `/api/v10` — reads the body,
 * applies the rate limits, finds the route, turns thrown `ApiError`s into Discord's JSON errors,
 * and records every call for the tests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';
import { bucketHash, type Limiter, rateHeaders, Window } from './rate-limits.js';
import { isObject, seconds } from './replies.js';
import { parseBody, readBody } from './request-body.js';
import type { ApiRequest, Params, Reply, Route } from './state.js';
import type { DiscordRateLimits, RateLimit, RestCall } from './types.js';
import type { World } from './world.js';

/** What the router needs; `restCalls` is the emulator's public log, appended to. */
export interface RestRouterOptions {
  readonly world: World;
  readonly token: string;
  readonly limits: DiscordRateLimits;
  readonly routes: readonly Route[];
  readonly restCalls: RestCall[];
}

/** A call as the log keeps it, before its answer is known. */
interface Call {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly body: unknown;
  readonly unknownRoute?: boolean;
}

export class RestRouter {
  readonly #options: RestRouterOptions;
  readonly #windows = new Map<string, Window>();
  #rateLimited = 0;

  constructor(options: RestRouterOptions) {
    this.#options = options;
  }

  /** How many 429 answers were served. */
  get rateLimitedCount(): number {
    return this.#rateLimited;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { world } = this.#options;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const prefix = '/api/v10/';
    const raw = await readBody(req);
    const download = /^\/attachments\/(\d+)\/[^/]+$/.exec(url.pathname);
    if (method === 'GET' && download !== null) {
      const upload = world.uploads.get(download[1] ?? '');
      res.writeHead(upload === undefined ? 404 : 200, {
        'content-type': 'application/octet-stream',
      });
      res.end(upload === undefined ? '' : Buffer.from(upload.bytes));
      return;
    }
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length - 1) : '';
    const segments = path.split('/').filter((s) => s !== '');
    let parsed: { json: unknown; files: ApiRequest['files'] };
    try {
      parsed = parseBody(req.headers['content-type'] ?? '', raw);
    } catch {
      this.#respond(
        res,
        { method, path: url.pathname, query: url.search, body: raw.toString() },
        { status: 400, body: { message: '400: Bad Request', code: 50109 } },
      );
      return;
    }
    const request: ApiRequest = {
      method,
      segments,
      query: url.searchParams,
      json: parsed.json,
      body: isObject(parsed.json) ? parsed.json : {},
      files: parsed.files,
      authorized: req.headers.authorization === `Bot ${this.#options.token}`,
    };
    const call: Call = {
      method,
      path: path === '' ? url.pathname : path,
      query: url.search,
      body: parsed.json,
    };
    // Every request counts against a bucket, whether a route matches or not.
    const now = world.now();
    const limiter = this.#limiter(request);
    for (const window of [limiter.hidden, limiter.advertised]) {
      if (window?.full(now) === true) {
        this.#rateLimited++;
        const after = window.resetAfterMs(now);
        this.#respond(
          res,
          call,
          {
            status: 429,
            body: {
              message: 'You are being rate limited.',
              retry_after: Number(seconds(after)),
              global: false,
            },
          },
          {
            ...rateHeaders(window, limiter.bucket, now),
            'Retry-After': String(Math.ceil(after / 1000)),
            'X-RateLimit-Scope': 'user',
          },
        );
        return;
      }
    }
    limiter.hidden?.take(now);
    limiter.advertised.take(now);
    const headers = rateHeaders(limiter.advertised, limiter.bucket, now);
    const match = path === '' ? undefined : this.#match(method, segments);
    if (match === undefined) {
      this.#respond(
        res,
        { ...call, unknownRoute: true },
        { status: 404, body: { message: '404: Not Found', code: 0 } },
        headers,
      );
      return;
    }
    this.#respond(res, call, this.#answer(match.route, request, match.params), headers);
  }

  /** Runs the route; a thrown `ApiError` becomes Discord's error JSON. */
  #answer(route: Route, request: ApiRequest, params: Params): Reply {
    try {
      if (route.auth && !request.authorized) {
        throw new ApiError(401, 0, '401: Unauthorized');
      }
      return route.handle(request, params);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        // An emulator bug: answer 500 and say why rather than crash the test run.
        console.error('discord emulator:', error);
        return { status: 500, body: { message: '500: Internal Server Error', code: 0 } };
      }
      return {
        status: error.status,
        body: {
          message: error.message,
          code: error.code,
          ...(error.errors === undefined ? {} : { errors: error.errors }),
        },
      };
    }
  }

  #respond(
    res: ServerResponse,
    call: Call,
    reply: Reply,
    headers: Record<string, string> = {},
  ): void {
    this.#options.restCalls.push({
      method: call.method,
      path: call.path,
      query: call.query,
      body: call.body,
      status: reply.status,
      unknownRoute: call.unknownRoute ?? false,
      at: this.#options.world.now(),
    });
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    res
      .writeHead(reply.status, { ...headers, 'Content-Type': 'application/json' })
      .end(JSON.stringify(reply.body));
  }

  /** Which bucket a request counts against, as Discord groups routes. */
  #limiter(request: ApiRequest): Limiter {
    const { world, limits } = this.#options;
    const { method, segments } = request;
    const [first, id, third] = segments;
    // Ids become :id and webhook tokens :token, so one route shares one bucket name.
    const template = segments
      .map((s, i) =>
        /^\d{17,20}$/.test(s) ? ':id' : segments[i - 2] === 'webhooks' ? ':token' : s,
      )
      .join('/');
    const bucket = bucketHash(`${method} /${template}`);
    const major =
      (first === 'channels' || first === 'guilds' || first === 'webhooks') && id !== undefined
        ? id
        : 'global';
    const windowFor = (key: string, rule: RateLimit) => {
      let window = this.#windows.get(key);
      if (window === undefined) {
        window = new Window(rule);
        this.#windows.set(key, window);
      }
      return window;
    };
    if (method === 'POST' && first === 'webhooks' && id !== undefined && segments.length === 3) {
      const webhook = world.webhooks.get(id);
      if (webhook !== undefined && webhook.token === third) {
        return {
          bucket,
          hidden: windowFor(`webhook:${id}`, limits.webhookExecute),
          advertised: windowFor(`webhook-channel:${webhook.channelId}`, limits.webhookChannel),
        };
      }
    }
    if (method === 'POST' && first === 'channels' && template === 'channels/:id/messages') {
      return { bucket, advertised: windowFor(`messages:${major}`, limits.channelMessages) };
    }
    return { bucket, advertised: windowFor(`${method} ${template}:${major}`, limits.other) };
  }

  /** The first route whose method and path fit, with its `:params` decoded. */
  #match(
    method: string,
    segments: readonly string[],
  ): { route: Route; params: Params } | undefined {
    for (const route of this.#options.routes) {
      if (route.method !== method || route.pattern.length !== segments.length) continue;
      const params = new Map<string, string>();
      const fits = route.pattern.every((part, i) => {
        const segment = segments[i] ?? '';
        if (part.startsWith(':')) {
          params.set(part.slice(1), decodeURIComponent(segment));
          return true;
        }
        return part === segment;
      });
      if (fits) return { route, params };
    }
    return undefined;
  }
}
