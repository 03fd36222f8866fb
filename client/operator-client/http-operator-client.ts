/** `HttpOperatorClient`: the Operator's JSON API over undici, through an injected dispatcher. */
import { request, type Dispatcher } from 'undici';
import type {
  SealedCollectiveMessage,
  SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import {
  checkPublicKeys,
  isValidBoxKey,
  isValidSignKey,
  randomBytes,
} from '../../common/crypto/index.js';
import { KomradeError, isOperatorErrorCode } from '../../common/errors/index.js';
import {
  CLOCK_SKEW_MS,
  COLLECTIVE_ROUTES,
  NONCE_BYTES,
  ROUTES,
  ackResponseSchema,
  collectiveHeadSchema,
  collectiveLogResponseSchema,
  collectiveSendResponseSchema,
  errorBodySchema,
  feedResponseSchema,
  fetchResponseSchema,
  keysOfReceipt,
  operatorInfoSchema,
  parseWith,
  postResponseSchema,
  PREKEY_ROUTES,
  prekeyBundleSchema,
  prekeyUploadAnswerSchema,
  prekeyUploadJson,
  receiptResponseSchema,
  LOG_ROUTES,
  checkpointResponseSchema,
  consistencyResponseSchema,
  logEntriesResponseSchema,
  TOKEN_ROUTES,
  anonymousSendResponseSchema,
  signMailWait,
  SESSION_ROUTE,
  sessionOpenResponseSchema,
  signRequest,
  toBase64url,
  tokenIssueResponseSchema,
  waitResponseSchema,
  type CollectiveHead,
  type OperatorInfo,
  type PrekeyBundle,
  type PrekeyBundleRequest,
  type PrekeyUpload,
  type PrekeyUploadAnswer,
  type RatchetKeyRequest,
  type Receipt,
  type RegisterRequest,
  type TokenIssueResponse,
} from '../../common/wire/index.js';
import {
  createAnonymousCircuits,
  type AnonymousCircuits,
} from '../transport/anonymous-circuits.js';
import type { z } from 'zod';
import { MailboxSessions } from './mailbox-session.js';
import type {
  AnonymousLetter,
  CollectiveLogPage,
  FeedPageRequest,
  FetchedLetters,
  FetchOptions,
  MailWaitOptions,
  MailWaitResult,
  OperatorClient,
  PostedToFeed,
  RequestSigner,
  SentAnonymously,
  SentToCollective,
} from './operator-client.js';

/** Options for {@link HttpOperatorClient}. */
export interface HttpOperatorClientOptions {
  /** The Operator's base URL, e.g. `http://127.0.0.1:8080` or an onion address. */
  readonly baseUrl: string;
  /**
   * How connections are made: an undici `Agent` for direct connections, or a SOCKS5 dispatcher to
   * reach the Operator over Tor. The client never creates one itself.
   */
  readonly dispatcher: Dispatcher;
  /**
   * Where anonymous sends get their dispatchers: circuits apart from `dispatcher` (whose isolation
   * key the identity's signed requests share), usually one pool for the whole process. Absent: a
   * pool of this client's own, which only a loopback Operator allows (an onion one throws
   * `TOR_UNAVAILABLE` on the first anonymous send: there is no Tor to build it on).
   */
  readonly anonymous?: AnonymousCircuits;
  /** The clock signed requests are stamped with (ms since the epoch). */
  readonly now: () => number;
  /** Source of request nonces. @defaultValue common/crypto `randomBytes` */
  readonly random?: (length: number) => Uint8Array;
  /** How long to wait for an answer's headers, and between body chunks. @defaultValue 60000 */
  readonly timeoutMs?: number;
  /** Largest answer body accepted; the server is not trusted. @defaultValue 4 MiB */
  readonly maxResponseBytes?: number;
  /**
   * Mailbox requests (fetch, ack, token issuance, feed, collectives) go in mailbox sessions: one
   * signed handshake per signer, then a MAC and a sequence number each, so the Operator keeps no
   * row per request. Off: each is signed (and the Operator remembers its nonce).
   * @defaultValue true
   */
  readonly sessions?: boolean;
  /**
   * The pinned Operator sign key session grants must verify under.
   * @defaultValue the key the Operator announces (`GET /v1/operator`), read once
   */
  readonly operatorKey?: () => Promise<Uint8Array>;
}

// Terminal control characters could repaint the screen: never pass them on from the server.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const safeServerText = (text: string): string => text.replace(CONTROL, ' ').slice(0, 300);

/** Implements {@link OperatorClient} over HTTP(S) JSON, binary fields as base64url. */
/** A wait proof is reused for at most half the Operator's clock window, so it never goes stale. */
const PROOF_REUSE_MS = CLOCK_SKEW_MS / 2;

export class HttpOperatorClient implements OperatorClient {
  readonly #base: URL;
  readonly #dispatcher: Dispatcher;
  #anonymous: AnonymousCircuits | undefined;
  readonly #now: () => number;
  readonly #random: (length: number) => Uint8Array;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  /** Mailbox sessions by signer (memory only); `undefined` when every request is signed. */
  readonly #sessions: MailboxSessions | undefined;
  /** The Operator's sign key as it announced it; wait proofs are bound to it. */
  #operatorKey: Promise<Uint8Array> | undefined;
  /**
   * Wait proofs signed lately, reused while well inside the Operator's clock window: a bot
   * re-waiting for 1,000 mailboxes after each wake-up then signs nothing, and the Operator, which
   * remembers proofs it verified, checks nothing again.
   */
  readonly #waitProofs = new Map<
    string,
    { readonly at: number; readonly sig: string; readonly operator: Uint8Array }
  >();

  /**
   * @param options - base URL, dispatcher and clock
   * @throws `CONFIG_INVALID` when the base URL is not an http(s) URL
   */
  constructor(options: HttpOperatorClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch (cause) {
      throw new KomradeError('CONFIG_INVALID', 'The Operator URL is not a valid URL.', { cause });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new KomradeError(
        'CONFIG_INVALID',
        'The Operator URL must start with http:// or https://.',
      );
    }
    this.#base = base;
    this.#dispatcher = options.dispatcher;
    this.#anonymous = options.anonymous;
    this.#now = options.now;
    this.#random = options.random ?? randomBytes;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
    const operatorKey = options.operatorKey ?? (() => this.#operatorSignKey());
    this.#sessions =
      options.sessions === false
        ? undefined
        : new MailboxSessions({
            handshake: (signer, clientKey) =>
              this.#call(
                'POST',
                SESSION_ROUTE,
                { clientKey: toBase64url(clientKey) },
                signer,
                sessionOpenResponseSchema,
              ),
            operatorKey,
            // A key read before a (rare) key change fails every grant: read it again next time.
            onBadGrant: () => {
              this.#operatorKey = undefined;
            },
            now: this.#now,
          });
  }

  /** The Operator's base URL as given, for messages. */
  get url(): string {
    return this.#base.origin + this.#base.pathname.replace(/\/$/, '');
  }

  /**
   * Unsigned reads (the Operator's info, a receipt) go on an anonymous circuit, never this
   * identity's own: asked right before a send, on the sender's circuit, they would name the sender
   * of the anonymous send that follows (test/e2e/observer.test.ts found exactly that).
   */
  #anonymousDispatcher(): Dispatcher {
    this.#anonymous ??= createAnonymousCircuits({ operatorUrl: this.url });
    return this.#anonymous.next();
  }

  async info(): Promise<OperatorInfo> {
    const info = await this.#call(
      'GET',
      ROUTES.operator,
      undefined,
      undefined,
      operatorInfoSchema,
      {
        dispatcher: this.#anonymousDispatcher(),
      },
    );
    if (!isValidSignKey(info.signKey) || !isValidBoxKey(info.feedKey)) {
      throw new KomradeError(
        'KEY_INVALID',
        `The Operator at ${this.url} announced a malformed or small-order public key.`,
      );
    }
    // Waits and session grants are bound to this key: no second read for them.
    this.#operatorKey = Promise.resolve(info.signKey);
    return info;
  }

  async register(input: RegisterRequest): Promise<Receipt> {
    const body = {
      name: input.name,
      signKey: toBase64url(input.signKey),
      boxKey: toBase64url(input.boxKey),
      keyHolder: input.keyHolder,
      ...(input.ratchetKey === undefined || input.ratchetKey === null
        ? {}
        : { ratchetKey: toBase64url(input.ratchetKey) }),
      pop: toBase64url(input.pop),
      pow: toBase64url(input.pow),
    };
    const answer = await this.#call(
      'POST',
      ROUTES.register,
      body,
      undefined,
      receiptResponseSchema,
    );
    return checkedReceipt(answer.receipt);
  }

  async lookup(name: string): Promise<Receipt> {
    const path = ROUTES.komrade + encodeURIComponent(name);
    const answer = await this.#call('GET', path, undefined, undefined, receiptResponseSchema, {
      dispatcher: this.#anonymousDispatcher(),
    });
    return checkedReceipt(answer.receipt);
  }

  async logCheckpoint(): Promise<string> {
    const answer = await this.#call(
      'GET',
      LOG_ROUTES.checkpoint,
      undefined,
      undefined,
      checkpointResponseSchema,
      { dispatcher: this.#anonymousDispatcher() },
    );
    return answer.checkpoint;
  }

  async logConsistency(from: number, to: number): Promise<readonly Uint8Array[]> {
    const path = `${LOG_ROUTES.consistency}?from=${from}&to=${to}`;
    const answer = await this.#call('GET', path, undefined, undefined, consistencyResponseSchema, {
      dispatcher: this.#anonymousDispatcher(),
    });
    if (answer.from !== from || answer.to !== to) {
      throw new KomradeError('OPERATOR_ERROR', 'The Operator answered a proof for other sizes.');
    }
    return answer.hashes;
  }

  async logEntries(start: number, end: number): Promise<readonly Receipt[]> {
    const path = `${LOG_ROUTES.entries}?start=${start}&end=${end}`;
    const answer = await this.#call('GET', path, undefined, undefined, logEntriesResponseSchema, {
      dispatcher: this.#anonymousDispatcher(),
    });
    if (answer.start !== start || answer.entries.length > end - start) {
      throw new KomradeError('OPERATOR_ERROR', 'The Operator answered other log entries.');
    }
    return answer.entries.map(checkedReceipt);
  }

  async setRatchetKey(signer: RequestSigner, request: RatchetKeyRequest): Promise<Receipt> {
    const body = { ratchetKey: toBase64url(request.ratchetKey), pop: toBase64url(request.pop) };
    const answer = await this.#call('POST', ROUTES.ratchetKey, body, signer, receiptResponseSchema);
    return checkedReceipt(answer.receipt);
  }

  async uploadPrekeys(signer: RequestSigner, upload: PrekeyUpload): Promise<PrekeyUploadAnswer> {
    const body = prekeyUploadJson(upload);
    return this.#call('POST', PREKEY_ROUTES.upload, body, signer, prekeyUploadAnswerSchema);
  }

  /**
   * `POST /v2/prekeys/bundle`: like {@link HttpOperatorClient.sendAnonymously}, no Authorization
   * header and a dispatcher of the anonymous circuits. A bundle for another name than asked is
   * refused (`OPERATOR_ERROR`).
   */
  async fetchPrekeyBundle(request: PrekeyBundleRequest): Promise<PrekeyBundle> {
    const dispatcher = this.#anonymousDispatcher();
    const body = {
      name: request.name,
      token: {
        epoch: request.token.epoch,
        input: toBase64url(request.token.input),
        output: toBase64url(request.token.output),
      },
    };
    const bundle = await this.#call(
      'POST',
      PREKEY_ROUTES.bundle,
      body,
      undefined,
      prekeyBundleSchema,
      { dispatcher },
    );
    if (bundle.name !== request.name) {
      throw new KomradeError(
        'OPERATOR_ERROR',
        `The Operator at ${this.url} answered a bundle for another name than asked.`,
      );
    }
    return bundle;
  }

  async issueTokens(
    signer: RequestSigner,
    blinded: readonly Uint8Array[],
    epoch: number,
  ): Promise<TokenIssueResponse> {
    const body = { epoch, blinded: blinded.map(toBase64url) };
    return this.#call('POST', TOKEN_ROUTES.issue, body, signer, tokenIssueResponseSchema);
  }

  /**
   * `POST /v2/mail/send`: no Authorization header, nothing but the recipient, the sealed letter
   * and the token, on a dispatcher of the anonymous circuits (never this identity's own).
   */
  async sendAnonymously(letter: AnonymousLetter): Promise<SentAnonymously> {
    const dispatcher = this.#anonymousDispatcher();
    const body = {
      to: letter.to,
      sealed: toBase64url(letter.sealed),
      token: {
        epoch: letter.token.epoch,
        input: toBase64url(letter.token.input),
        output: toBase64url(letter.token.output),
      },
    };
    return this.#call('POST', TOKEN_ROUTES.send, body, undefined, anonymousSendResponseSchema, {
      dispatcher,
    });
  }

  async fetch(signer: RequestSigner, options: FetchOptions = {}): Promise<FetchedLetters> {
    const { limit, ack = [] } = options;
    const body = {
      ...(limit === undefined ? {} : { limit }),
      ...(ack.length === 0 ? {} : { ack: ack.map(toBase64url) }),
    };
    const { letters, more, deleted } = await this.#call(
      'POST',
      ROUTES.fetch,
      body,
      signer,
      fetchResponseSchema,
    );
    if (ack.length === 0) return { letters, more };
    if (deleted === undefined) {
      throw new KomradeError('OPERATOR_ERROR', 'The Operator did not say what it deleted.');
    }
    return { letters, more, deleted };
  }

  /**
   * One `POST /v1/mail/wait` carrying a proof per signer, bound to the Operator's sign key (read
   * once from {@link HttpOperatorClient.info}). The answer may name only mailboxes asked about.
   * Aborting `signal` rejects with the signal's reason.
   * @throws `NOT_FOUND` from an Operator without the route, `BAD_REQUEST` for no signers, the
   * Operator's refusals (`NAME_UNKNOWN`, `BAD_SIGNATURE`, `CLOCK_SKEW`), `OPERATOR_UNREACHABLE`,
   * `OPERATOR_ERROR` (a name not asked about)
   */
  async waitForMail(
    signers: readonly RequestSigner[],
    options: MailWaitOptions,
  ): Promise<MailWaitResult> {
    if (signers.length === 0) {
      throw new KomradeError('BAD_REQUEST', 'A wait for mail needs at least one mailbox.');
    }
    const operator = await this.#operatorSignKey();
    options.signal?.throwIfAborted();
    const now = this.#now();
    const body = {
      mailboxes: signers.map((signer) => {
        const kept = this.#waitProofs.get(signer.name);
        if (kept !== undefined && kept.operator === operator && now - kept.at < PROOF_REUSE_MS) {
          return { name: signer.name, at: kept.at, sig: kept.sig };
        }
        const sig = toBase64url(
          signMailWait({ name: signer.name, at: now, operator }, signer.signSecret),
        );
        this.#waitProofs.set(signer.name, { at: now, sig, operator });
        return { name: signer.name, at: now, sig };
      }),
      waitMs: options.waitMs,
    };
    let answer: z.output<typeof waitResponseSchema>;
    try {
      answer = await this.#call('POST', ROUTES.wait, body, undefined, waitResponseSchema, {
        // The Operator holds the answer up to `waitMs`: only silence beyond that is a failure.
        timeoutMs: options.waitMs + this.#timeoutMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      // A key read before a (rare) key change would fail every proof: read it again next time.
      if (error instanceof KomradeError && error.code === 'BAD_SIGNATURE') {
        this.#operatorKey = undefined;
        this.#waitProofs.clear();
      }
      if (error instanceof KomradeError && error.code === 'CLOCK_SKEW') this.#waitProofs.clear();
      throw error;
    }
    const asked = new Set(signers.map((signer) => signer.name));
    const ready = [...new Set(answer.ready)];
    if (!ready.every((name) => asked.has(name))) {
      throw new KomradeError(
        'OPERATOR_ERROR',
        `The Operator at ${this.url} named a mailbox that was not asked about.`,
      );
    }
    return { ready };
  }

  /**
   * The Operator's sign key that wait proofs and session grants are bound to: the last
   * {@link HttpOperatorClient.info} read, or one read shared by concurrent callers.
   */
  #operatorSignKey(): Promise<Uint8Array> {
    if (this.#operatorKey === undefined) {
      const asked = this.info().then((info) => info.signKey);
      this.#operatorKey = asked;
      // A failed read is not kept: the next wait asks again.
      void asked.catch(() => {
        if (this.#operatorKey === asked) this.#operatorKey = undefined;
      });
    }
    return this.#operatorKey;
  }

  async ack(signer: RequestSigner, ids: readonly Uint8Array[]): Promise<number> {
    const body = { ids: ids.map(toBase64url) };
    const answer = await this.#call('POST', ROUTES.ack, body, signer, ackResponseSchema);
    return answer.deleted;
  }

  async post(signer: RequestSigner, sealed: Uint8Array): Promise<PostedToFeed> {
    const body = { sealed: toBase64url(sealed) };
    return this.#call('POST', ROUTES.post, body, signer, postResponseSchema);
  }

  async feedPage(signer: RequestSigner, page: FeedPageRequest = {}): Promise<Uint8Array> {
    const body = {
      ...(page.before === undefined ? {} : { before: page.before }),
      ...(page.limit === undefined ? {} : { limit: page.limit }),
    };
    const answer = await this.#call('POST', ROUTES.feed, body, signer, feedResponseSchema);
    return answer.sealed;
  }

  async createCollective(
    signer: RequestSigner,
    genesis: SignedCollectiveEvent,
    pow: Uint8Array,
  ): Promise<CollectiveHead> {
    const body = { genesis: eventJson(genesis), pow: toBase64url(pow) };
    return this.#call('POST', COLLECTIVE_ROUTES.create, body, signer, collectiveHeadSchema);
  }

  async appendEvent(signer: RequestSigner, event: SignedCollectiveEvent): Promise<CollectiveHead> {
    const body = { event: eventJson(event) };
    return this.#call('POST', COLLECTIVE_ROUTES.append, body, signer, collectiveHeadSchema);
  }

  async collectiveHead(signer: RequestSigner, collective: string): Promise<CollectiveHead> {
    const body = { collective };
    return this.#call('POST', COLLECTIVE_ROUTES.head, body, signer, collectiveHeadSchema);
  }

  async collectiveLog(
    signer: RequestSigner,
    collective: string,
    from: number,
    limit?: number,
  ): Promise<CollectiveLogPage> {
    const body = { collective, from, ...(limit === undefined ? {} : { limit }) };
    const page = await this.#call(
      'POST',
      COLLECTIVE_ROUTES.log,
      body,
      signer,
      collectiveLogResponseSchema,
    );
    for (const receipt of page.receipts) checkedReceipt(receipt);
    return page;
  }

  async sendToCollective(
    signer: RequestSigner,
    collective: string,
    sealed: SealedCollectiveMessage,
  ): Promise<SentToCollective> {
    const body = {
      collective,
      body: toBase64url(sealed.body),
      keys: sealed.keys.map((k) => ({ to: k.to, sealed: toBase64url(k.sealed) })),
    };
    return this.#call('POST', COLLECTIVE_ROUTES.send, body, signer, collectiveSendResponseSchema);
  }

  /** One request: sign it when asked, send it, check the status and the answer's shape. */
  async #call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    route: string,
    json: unknown,
    signer: RequestSigner | undefined,
    schema: S,
    per: {
      readonly timeoutMs?: number;
      readonly signal?: AbortSignal;
      readonly dispatcher?: Dispatcher;
      /** A ready session `Authorization` header (then `signer` signs nothing). */
      readonly authorization?: string;
    } = {},
  ): Promise<z.output<S>> {
    const url = new URL(this.#base.pathname.replace(/\/$/, '') + route, this.#base);
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json), 'utf8');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const sessions = this.#sessions;
    if (
      signer !== undefined &&
      sessions !== undefined &&
      per.authorization === undefined &&
      route !== SESSION_ROUTE
    ) {
      // In the signer's session (only the handshake is signed), sent once more in a new session
      // if the Operator forgot this one. The MAC covers the path exactly as sent.
      const request = { method, path: url.pathname, body: body ?? new Uint8Array(0) };
      return sessions.run(signer, request, (authorization) =>
        this.#call(method, route, json, signer, schema, { ...per, authorization }),
      );
    }
    if (per.authorization !== undefined) {
      headers.authorization = per.authorization;
    } else if (signer !== undefined) {
      headers.authorization = signRequest({
        method,
        // The signature covers the path the Operator receives, exactly as sent.
        path: url.pathname,
        name: signer.name,
        at: this.#now(),
        nonce: this.#random(NONCE_BYTES),
        body: body ?? new Uint8Array(0),
        signSecret: signer.signSecret,
      });
    }

    let status: number;
    let text: string;
    try {
      const answer = await request(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        dispatcher: per.dispatcher ?? this.#dispatcher,
        headersTimeout: per.timeoutMs ?? this.#timeoutMs,
        bodyTimeout: per.timeoutMs ?? this.#timeoutMs,
        ...(per.signal === undefined ? {} : { signal: per.signal }),
      });
      status = answer.statusCode;
      text = await this.#readBody(answer.body);
    } catch (cause) {
      if (cause instanceof KomradeError) throw cause;
      if (per.signal?.aborted === true) throw per.signal.reason;
      const reason = (cause as { code?: unknown }).code;
      throw new KomradeError(
        'OPERATOR_UNREACHABLE',
        `Could not reach the Operator at ${this.url}${typeof reason === 'string' ? ` (${reason})` : ''}.`,
        { cause },
      );
    }

    const parsed = parseJson(text);
    if (status < 200 || status >= 300) throw this.#errorFrom(status, parsed);
    const answer = parseWith(
      schema,
      parsed,
      'OPERATOR_ERROR',
      `answer from the Operator (${route})`,
    );
    if (!answer.ok) throw answer.error;
    return answer.value;
  }

  async #readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += buffer.length;
      if (size > this.#maxResponseBytes) {
        body.destroy();
        throw new KomradeError('OPERATOR_ERROR', 'The Operator sent an answer that is too large.');
      }
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  #errorFrom(status: number, parsed: unknown): KomradeError {
    const error = errorBodySchema.safeParse(parsed);
    if (error.success && isOperatorErrorCode(error.data.error.code)) {
      return new KomradeError(error.data.error.code, safeServerText(error.data.error.message));
    }
    return new KomradeError(
      'OPERATOR_ERROR',
      `The Operator at ${this.url} answered HTTP ${status} without a Komrade error.`,
    );
  }
}

/**
 * `receipt`, once both its keys pass {@link checkPublicKeys}: even a receipt the pinned key signed
 * is refused when nothing could safely be sealed to, or verified with, what it vouches for.
 * @throws `KEY_INVALID`
 */
function checkedReceipt(receipt: Receipt): Receipt {
  const keys = checkPublicKeys(keysOfReceipt(receipt), `@${receipt.name}`);
  if (!keys.ok) throw keys.error;
  return receipt;
}

const eventJson = (event: SignedCollectiveEvent) => ({
  signed: toBase64url(event.signed),
  sig: toBase64url(event.sig),
});

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
