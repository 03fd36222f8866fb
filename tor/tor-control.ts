/** A Tor control-protocol client over a TCP or Unix socket: cookie auth, commands, events, onions. */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { silentLogger, type Logger } from '../common/logging/index.js';
import { parseBootstrapPhase, type BootstrapProgress } from './bootstrap-phase.js';
import {
  ControlReplyParser,
  isAsyncEvent,
  parseGetInfo,
  parseKeywords,
  type ControlReply,
  type ControlReplyLine,
} from './control-reply.js';
import {
  buildAddOnionCommand,
  normalizeServiceId,
  parseAddOnionReply,
  POW_ADD_ONION_MIN_VERSION,
  torVersionAtLeast,
  type AddOnionOptions,
  type AddOnionResult,
} from './onion-service.js';
import { TorError } from './tor-error.js';

/** Where a control port listens: `{ port }` on loopback TCP, or `{ path }` for a Unix socket. */
export type ControlTarget =
  { readonly host?: string; readonly port: number } | { readonly path: string };

/** Options for {@link TorControl.connect}. */
export interface TorControlOptions {
  /** Cookie file to authenticate with; by default the one PROTOCOLINFO names. */
  readonly cookiePath?: string;
  /** Connect timeout, and the longest any one command may take. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** @defaultValue {@link silentLogger} */
  readonly logger?: Logger;
}

/** An asynchronous event (`650 …`), e.g. `CIRC`, `STREAM` or `STATUS_CLIENT`. */
export interface ControlEvent {
  /** The event keyword, e.g. `STREAM`. */
  readonly type: string;
  /** The first line after the keyword, e.g. `12 SUCCEEDED 5 abc….onion:80 …`. */
  readonly body: string;
  /** All lines, for multi-line events. */
  readonly lines: readonly ControlReplyLine[];
}

interface Pending {
  readonly verb: string;
  readonly resolve: (reply: ControlReply) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

const SERVER_TO_CONTROLLER = 'Tor safe cookie authentication server-to-controller hash';
const CONTROLLER_TO_SERVER = 'Tor safe cookie authentication controller-to-server hash';

/**
 * A connected, authenticated controller of one tor process. Commands are answered in order, so
 * they are queued; events go to {@link TorControl.subscribe} listeners.
 *
 * @example
 * ```ts
 * const control = await TorControl.connect({ port: 9051 }, { cookiePath });
 * const { hostname, privateKey } = await control.addOnion({ ports: [{ targetPort: 8080 }] });
 * ```
 */
export class TorControl {
  readonly #socket: net.Socket;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #pending: Pending[] = [];
  readonly #listeners = new Set<{
    readonly types: ReadonlySet<string>;
    readonly listener: (event: ControlEvent) => void;
  }>();
  #eventKey = '';
  readonly #closed: Promise<void>;
  #closeError: TorError | undefined;
  #version: string | undefined;
  #powUnsupported = false;
  #quitting = false;

  private constructor(socket: net.Socket, timeoutMs: number, logger: Logger) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
    const parser = new ControlReplyParser((reply) => {
      this.#dispatch(reply);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      try {
        parser.push(chunk);
      } catch (cause) {
        socket.destroy(
          new TorError('tor sent a malformed control reply', { transient: false, cause }),
        );
      }
    });
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        const error =
          this.#closeError ??
          new TorError('the tor control connection closed', { transient: false });
        for (const pending of this.#pending.splice(0)) {
          clearTimeout(pending.timer);
          pending.reject(error);
        }
        resolve();
      });
    });
    socket.on('error', (cause) => {
      this.#closeError ??= new TorError('the tor control connection failed', {
        transient: false,
        cause,
      });
    });
  }

  /**
   * Connects to a control port and authenticates (SAFECOOKIE when offered, else COOKIE, else NULL).
   *
   * @throws TOR_UNAVAILABLE when the port is unreachable or authentication fails.
   */
  static async connect(
    target: ControlTarget,
    options: TorControlOptions = {},
  ): Promise<TorControl> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const socket = await openSocket(target, timeoutMs);
    const control = new TorControl(socket, timeoutMs, options.logger ?? silentLogger);
    try {
      await control.#authenticate(options.cookiePath);
    } catch (error) {
      await control.close();
      throw error;
    }
    return control;
  }

  /** Resolves once the connection has closed, for whatever reason. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Sends one command line and returns its reply.
   *
   * @param line - the command without CRLF; it must not contain line breaks.
   * @throws TOR_UNAVAILABLE with `controlStatus` on a 4xx/5xx reply; the message names the command
   * verb and Tor's answer, never the command's arguments.
   */
  async command(line: string): Promise<ControlReply> {
    if (/[\r\n]/.test(line)) {
      throw new TorError('a control command may not contain line breaks', { transient: false });
    }
    const verb = (line.split(' ', 1)[0] ?? '').toUpperCase();
    if (this.#socket.destroyed || !this.#socket.writable) {
      throw (
        this.#closeError ??
        new TorError('the tor control connection is closed', { transient: false })
      );
    }
    const reply = await new Promise<ControlReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A missing reply desynchronises the queue; the connection cannot be trusted after it.
        this.#closeError = new TorError(`tor did not answer ${verb} in time`, { transient: true });
        this.#socket.destroy();
      }, this.#timeoutMs);
      this.#pending.push({ verb, resolve, reject, timer });
      this.#socket.write(`${line}\r\n`);
    });
    if (reply.status >= 400) {
      const text = scrub(reply.lines[reply.lines.length - 1]?.text ?? '');
      throw new TorError(`tor refused ${verb}: ${reply.status} ${text}`, {
        transient: reply.status === 451,
        controlStatus: reply.status,
      });
    }
    return reply;
  }

  /**
   * Runs GETINFO for the given keys.
   *
   * @returns each key's value (data blocks joined with `\n`).
   */
  async getInfo(...keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    for (const key of keys) {
      if (!/^[\w/.:@-]+$/.test(key)) {
        throw new TorError('a GETINFO key has unexpected characters', { transient: false });
      }
    }
    return parseGetInfo(await this.command(`GETINFO ${keys.join(' ')}`));
  }

  /** The tor version, e.g. `0.4.9.11`. */
  async version(): Promise<string> {
    if (this.#version === undefined) {
      this.#version = (await this.getInfo('version')).get('version') ?? '';
    }
    return this.#version;
  }

  /** Where the running tor accepts SOCKS connections, e.g. `[{ host: '127.0.0.1', port: 9050 }]`. */
  async socksListeners(): Promise<readonly { host: string; port: number }[]> {
    const value = (await this.getInfo('net/listeners/socks')).get('net/listeners/socks') ?? '';
    return parseKeywords(value).positional.flatMap((entry) => {
      const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(entry);
      return match === null ? [] : [{ host: match[1] ?? '', port: Number(match[2]) }];
    });
  }

  /** Tor's current bootstrap phase (`GETINFO status/bootstrap-phase`). */
  async bootstrapPhase(): Promise<BootstrapProgress> {
    const value = (await this.getInfo('status/bootstrap-phase')).get('status/bootstrap-phase');
    const phase = value === undefined ? undefined : parseBootstrapPhase(value);
    if (phase === undefined) {
      throw new TorError('tor answered an unreadable bootstrap phase', { transient: false });
    }
    return phase;
  }

  /**
   * Listens for events of the given types. Subscriptions are counted, so several listeners (the
   * bootstrap monitor, a test watching streams) share the connection's one SETEVENTS set.
   *
   * @param types - event keywords, e.g. `['STREAM', 'CIRC']`.
   * @returns a function that removes the listener and drops types nobody listens to any more.
   * @example
   * ```ts
   * const stop = await control.subscribe(['STREAM'], (e) => streams.push(parseStreamLine(e.body)));
   * ```
   */
  async subscribe(
    types: readonly string[],
    listener: (event: ControlEvent) => void,
  ): Promise<() => Promise<void>> {
    for (const type of types) {
      if (!/^[A-Z_]+$/.test(type)) throw new TorError('not an event name', { transient: false });
    }
    const wanted = new Set(types);
    const entry = { types: wanted, listener };
    this.#listeners.add(entry);
    try {
      await this.#syncEvents();
    } catch (error) {
      this.#listeners.delete(entry);
      throw error;
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      this.#listeners.delete(entry);
      if (!this.#socket.destroyed) await this.#syncEvents();
    };
  }

  /** Sends SETEVENTS when the union of subscribed types changed. */
  async #syncEvents(): Promise<void> {
    const union = [...new Set([...this.#listeners].flatMap((l) => [...l.types]))].sort();
    const key = union.join(' ');
    if (key === this.#eventKey) return;
    this.#eventKey = key;
    await this.command(union.length === 0 ? 'SETEVENTS' : `SETEVENTS ${key}`);
  }

  /** Makes tor exit when this connection closes (used for tor processes we launched). */
  async takeOwnership(): Promise<void> {
    await this.command('TAKEOWNERSHIP');
  }

  /**
   * Publishes an onion service that forwards to a local port. With PoW requested, tries
   * `PoWDefensesEnabled=1` on tor ≥ 0.4.9.1 and falls back to publishing without it when this tor
   * refuses the argument. With `waitForPublication`, resolves only once the descriptor has been
   * uploaded to an HSDir (HS_DESC UPLOADED), i.e. when clients can start to find it.
   *
   * @throws TOR_UNAVAILABLE on a bad key or mapping, when tor refuses, or (transient) when the
   * descriptor is not uploaded in time.
   */
  async addOnion(options: AddOnionOptions): Promise<AddOnionResult> {
    if (options.waitForPublication === undefined || options.waitForPublication === false) {
      return this.#addOnion(options);
    }
    const timeoutMs =
      options.waitForPublication === true ? 120_000 : options.waitForPublication.timeoutMs;
    // Listen before adding: the first upload can follow the ADD_ONION reply within milliseconds.
    const uploaded = new Set<string>();
    let onUpload: ((serviceId: string) => void) | undefined;
    const unsubscribe = await this.subscribe(['HS_DESC'], (event) => {
      const [action, address] = event.body.split(' ');
      if (action !== 'UPLOADED' || address === undefined) return;
      uploaded.add(address);
      onUpload?.(address);
    });
    try {
      const result = await this.#addOnion(options);
      if (!uploaded.has(result.serviceId)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            reject(
              new TorError('tor did not publish the onion descriptor in time', { transient: true }),
            );
          }, timeoutMs);
          onUpload = (serviceId) => {
            if (serviceId !== result.serviceId) return;
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return result;
    } finally {
      await unsubscribe();
    }
  }

  async #addOnion(options: AddOnionOptions): Promise<AddOnionResult> {
    const wantPow =
      options.powDefenses !== false &&
      !this.#powUnsupported &&
      torVersionAtLeast(await this.version(), POW_ADD_ONION_MIN_VERSION);
    let reply: ControlReply;
    let pow = wantPow;
    try {
      reply = await this.command(buildAddOnionCommand(options, wantPow));
    } catch (error) {
      const refusedPow =
        wantPow &&
        error instanceof TorError &&
        (error.controlStatus === 512 || error.controlStatus === 513) &&
        /pow|unrecognized|unknown/i.test(error.message);
      if (!refusedPow) throw error;
      this.#powUnsupported = true;
      this.#logger.warn('tor.onion_pow_unsupported', { version: this.#version });
      pow = false;
      reply = await this.command(buildAddOnionCommand(options, false));
    }
    const { serviceId, privateKey } = parseAddOnionReply(reply);
    const hostname = `${serviceId}.onion`;
    return privateKey === undefined
      ? { serviceId, hostname, powDefenses: pow }
      : { serviceId, hostname, privateKey, powDefenses: pow };
  }

  /** Removes an onion service added on this tor (`DEL_ONION`). */
  async delOnion(serviceIdOrHostname: string): Promise<void> {
    await this.command(`DEL_ONION ${normalizeServiceId(serviceIdOrHostname)}`);
  }

  /** Sends QUIT and closes the connection; never throws. */
  async close(): Promise<void> {
    if (!this.#socket.destroyed) {
      this.#quitting = true;
      this.#socket.end('QUIT\r\n');
      const timer = setTimeout(() => this.#socket.destroy(), 1_000);
      await this.#closed;
      clearTimeout(timer);
    }
  }

  #dispatch(reply: ControlReply): void {
    if (isAsyncEvent(reply)) {
      const first = reply.lines[0]?.text ?? '';
      const space = first.indexOf(' ');
      const event: ControlEvent = {
        type: space < 0 ? first : first.slice(0, space),
        body: space < 0 ? '' : first.slice(space + 1),
        lines: reply.lines,
      };
      for (const { types, listener } of this.#listeners) {
        if (!types.has(event.type)) continue;
        try {
          listener(event);
        } catch {
          // A faulty listener must not break the control connection.
          this.#logger.warn('tor.event_listener_failed', { event: event.type });
        }
      }
      return;
    }
    const pending = this.#pending.shift();
    if (pending === undefined) {
      // QUIT's "250 closing connection" has no pending command.
      if (this.#quitting) return;
      this.#logger.warn('tor.unexpected_reply', { status: reply.status });
      return;
    }
    clearTimeout(pending.timer);
    pending.resolve(reply);
  }

  async #authenticate(cookiePath: string | undefined): Promise<void> {
    const info = await this.command('PROTOCOLINFO 1');
    let methods: string[] = [];
    let cookieFile = cookiePath;
    for (const line of info.lines) {
      if (line.text.startsWith('AUTH ')) {
        const { keywords } = parseKeywords(line.text.slice(5));
        methods = (keywords.get('METHODS') ?? '').split(',');
        cookieFile ??= keywords.get('COOKIEFILE');
      }
      if (line.text.startsWith('VERSION ')) {
        this.#version = parseKeywords(line.text.slice(8)).keywords.get('Tor');
      }
    }
    if (methods.includes('NULL')) {
      await this.command('AUTHENTICATE');
      return;
    }
    if (
      cookieFile === undefined ||
      !(methods.includes('SAFECOOKIE') || methods.includes('COOKIE'))
    ) {
      throw new TorError('this tor offers no cookie authentication on its control port', {
        transient: false,
      });
    }
    const cookie = await readCookie(cookieFile);
    if (methods.includes('SAFECOOKIE')) {
      await this.#safeCookie(cookie);
    } else {
      await this.command(`AUTHENTICATE ${cookie.toString('hex')}`);
    }
  }

  /** SAFECOOKIE: both sides prove they know the cookie without sending it. */
  async #safeCookie(cookie: Buffer): Promise<void> {
    const clientNonce = randomBytes(32);
    const reply = await this.command(`AUTHCHALLENGE SAFECOOKIE ${clientNonce.toString('hex')}`);
    const text = reply.lines[reply.lines.length - 1]?.text ?? '';
    const { keywords } = parseKeywords(text.replace(/^AUTHCHALLENGE /, ''));
    const serverHash = Buffer.from(keywords.get('SERVERHASH') ?? '', 'hex');
    const serverNonce = Buffer.from(keywords.get('SERVERNONCE') ?? '', 'hex');
    const message = Buffer.concat([cookie, clientNonce, serverNonce]);
    const expected = createHmac('sha256', SERVER_TO_CONTROLLER).update(message).digest();
    if (serverHash.length !== expected.length || !timingSafeEqual(serverHash, expected)) {
      throw new TorError('the control port failed SAFECOOKIE: it is not the tor we expected', {
        transient: false,
      });
    }
    const clientHash = createHmac('sha256', CONTROLLER_TO_SERVER).update(message).digest();
    await this.command(`AUTHENTICATE ${clientHash.toString('hex')}`);
  }
}

async function readCookie(path: string): Promise<Buffer> {
  let cookie: Buffer;
  try {
    cookie = await readFile(path);
  } catch (cause) {
    throw new TorError('cannot read the tor control cookie file', { transient: false, cause });
  }
  if (cookie.length !== 32) {
    throw new TorError('the tor control cookie file is not 32 bytes', { transient: false });
  }
  return cookie;
}

function openSocket(target: ControlTarget, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      'path' in target
        ? net.connect({ path: target.path })
        : net.connect({ host: target.host ?? '127.0.0.1', port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TorError('timed out connecting to the tor control port', { transient: true }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (cause) => {
      clearTimeout(timer);
      reject(new TorError('cannot connect to the tor control port', { transient: false, cause }));
    });
  });
}

/** Tor's error text may quote an argument: drop anything long enough to be a key or a cookie. */
function scrub(text: string): string {
  return text.replace(/[A-Za-z0-9+/=_-]{32,}/g, '[…]').slice(0, 200);
}
