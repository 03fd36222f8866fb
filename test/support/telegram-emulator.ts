/**
 * A local emulation of the Telegram Bot API over HTTP (`/bot<token>/<method>`): getMe, getUpdates
 * (long polling), deleteWebhook, setMyCommands, sendMessage, editMessageText,
 * editMessageReplyMarkup, answerCallbackQuery, deleteMessage, sendDocument (multipart/form-data),
 * getFile and the file download path `/file/bot<token>/<file_path>`.
 * Tests play the users (`userSends`, `userSendsDocument`, `userClicks`) and read what the bot wrote. It can enforce
 * Telegram's flood limits and answer 429 with `parameters.retry_after` on demand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A message as the emulator keeps it. */
export interface EmulatedMessage {
  readonly message_id: number;
  readonly chat_id: number;
  /** Who wrote it: the bot, or a user id. */
  readonly from: 'bot' | number;
  text: string;
  readonly reply_to?: number;
  reply_markup?: InlineKeyboard;
  readonly sentAt: number;
  edits: number;
  /** A file sent with the message (`text` is then its caption). */
  readonly document?: EmulatedDocument;
  /** Set once deleteMessage removed it from the chat. */
  deleted?: boolean;
}

/** A file as the emulator keeps it. */
export interface EmulatedDocument {
  readonly file_id: string;
  readonly file_unique_id: string;
  readonly file_name: string;
  readonly bytes: Uint8Array;
}

/** One part of a multipart/form-data body. */
interface FormPart {
  readonly name: string;
  readonly filename?: string;
  readonly data: Buffer;
}

/**
 * Parses multipart/form-data as grammY sends it (header names lower-case, `filename` unquoted) and
 * as browsers do (quoted).
 */
function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const parts: FormPart[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    let start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    // The part ends with CRLF before the next delimiter.
    const part = body.subarray(start, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split !== -1) {
      const headers = part.subarray(0, split).toString('utf8');
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="?([^";\r\n]*)"?/i.exec(headers)?.[1];
      if (name !== undefined) {
        parts.push({
          name,
          ...(filename === undefined ? {} : { filename }),
          data: Buffer.from(part.subarray(split + 4)),
        });
      }
    }
    at = next;
  }
  return parts;
}

interface InlineKeyboard {
  inline_keyboard: { text: string; callback_data?: string }[][];
}

/** A simulated Telegram user. */
export interface EmulatedUser {
  readonly id: number;
  readonly first_name: string;
  readonly username?: string;
}

/** Telegram's flood limits, as the emulator enforces them when switched on. */
export interface FloodLimits {
  /** Messages per second to all chats. @defaultValue 30 */
  readonly globalPerSecond: number;
  /** Minimum gap between two messages to one private chat (ms). @defaultValue 950 */
  readonly privateGapMs: number;
  /** Messages per minute to one group. @defaultValue 20 */
  readonly groupPerMinute: number;
}

/** An update as getUpdates hands it out. */
export type Update = Record<string, unknown> & { update_id: number };

const BOT = { id: 7_000_000, is_bot: true, first_name: 'Komrade', username: 'komrade_test_bot' };

/** The emulator. */
export class TelegramEmulator {
  readonly token: string;
  readonly #server: Server;
  #port = 0;
  readonly #updates: Update[] = [];
  #nextUpdateId = 1;
  #nextMessageId = 1;
  readonly #messages: EmulatedMessage[] = [];
  readonly #waiters = new Set<() => void>();
  #limits: FloodLimits | undefined;
  readonly #sentTimes: number[] = [];
  readonly #lastPerChat = new Map<number, number>();
  readonly #groupTimes = new Map<number, number[]>();
  #forced429: { method: string; count: number; retryAfter: number } | undefined;
  #held: { chatId: number; release: Promise<void>; onHeld: () => void } | undefined;
  /** sendMessage answers with 429 (forced or by the limits). */
  tooManyRequests = 0;
  /** Every setMyCommands call's `commands`. */
  readonly commands: unknown[] = [];
  readonly #groups = new Set<number>();
  readonly #openPolls = new Set<ServerResponse>();
  /** Files by file_id, and their download paths. */
  readonly #files = new Map<string, EmulatedDocument>();
  readonly #filePaths = new Map<string, string>();
  #nextFileId = 1;
  /** Every deleteMessage call, as `chat_id:message_id`. */
  readonly deletions: string[] = [];
  /** Called with each non-empty batch getUpdates hands out (the chaos test kills the bot then). */
  onHandOut: ((updates: readonly Update[], offset: number) => void) | undefined;

  constructor(token = '123456:TEST-token') {
    this.token = token;
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
  }

  /** Starts listening on a free loopback port. */
  async start(): Promise<void> {
    await new Promise<void>((resolveListen) => {
      this.#server.listen(0, '127.0.0.1', () => {
        resolveListen();
      });
    });
    const address = this.#server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** The `apiRoot` to give grammY. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async close(): Promise<void> {
    for (const res of this.#openPolls) this.#reply(res, { ok: true, result: [] });
    this.#server.closeAllConnections();
    await new Promise<void>((resolveClose) => {
      this.#server.close(() => {
        resolveClose();
      });
    });
  }

  /** Switches Telegram's flood limits on (or off with `undefined`). */
  setLimits(limits: Partial<FloodLimits> | undefined): void {
    this.#limits =
      limits === undefined
        ? undefined
        : { globalPerSecond: 30, privateGapMs: 950, groupPerMinute: 20, ...limits };
  }

  /** The next `count` calls of `method` answer 429 with `retry_after`. */
  force429(method: string, count: number, retryAfter: number): void {
    this.#forced429 = { method, count, retryAfter };
  }

  /**
   * Holds every sendMessage to `chatId` (no answer) until the returned `release` is called;
   * `held` resolves once one such call is being held.
   */
  holdSendsTo(chatId: number): { held: Promise<void>; release: () => void } {
    let release: () => void = () => undefined;
    let onHeld: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      onHeld = () => {
        r();
      };
    });
    const released = new Promise<void>((r) => {
      release = () => {
        this.#held = undefined;
        r();
      };
    });
    this.#held = { chatId, release: released, onHeld };
    return { held, release };
  }

  /** Marks a chat id as a group (negative ids are groups anyway). */
  addGroup(chatId: number): void {
    this.#groups.add(chatId);
  }

  /** A user writes `text` in a private chat with the bot (or in `chatId`, a group). */
  userSends(
    user: EmulatedUser,
    text: string,
    options: { replyTo?: number; chatId?: number } = {},
  ): EmulatedMessage {
    const chatId = options.chatId ?? user.id;
    const message: EmulatedMessage = {
      message_id: this.#nextMessageId++,
      chat_id: chatId,
      from: user.id,
      text,
      ...(options.replyTo === undefined ? {} : { reply_to: options.replyTo }),
      sentAt: Date.now(),
      edits: 0,
    };
    this.#messages.push(message);
    const isGroup = chatId < 0 || this.#groups.has(chatId);
    const entities = text.startsWith('/')
      ? [{ type: 'bot_command', offset: 0, length: text.split(/\s/)[0]?.length ?? 1 }]
      : undefined;
    const replied =
      options.replyTo === undefined
        ? undefined
        : this.#messages.find((m) => m.message_id === options.replyTo);
    this.#push({
      message: {
        message_id: message.message_id,
        date: Math.floor(message.sentAt / 1000),
        chat: isGroup
          ? { id: chatId, type: 'group', title: 'A group' }
          : { id: chatId, type: 'private', first_name: user.first_name },
        from: { id: user.id, is_bot: false, first_name: user.first_name },
        text,
        ...(entities === undefined ? {} : { entities }),
        ...(replied === undefined ? {} : { reply_to_message: this.#toApi(replied) }),
      },
    });
    return message;
  }

  /**
   * A user sends a file (`caption`, e.g. `/restore`), or replies to one of the messages; returns
   * the message, whose `document.file_id` the bot can fetch with getFile.
   */
  userSendsDocument(
    user: EmulatedUser,
    bytes: Uint8Array,
    fileName: string,
    options: { caption?: string; replyTo?: number } = {},
  ): EmulatedMessage {
    const document = this.#storeFile(bytes, fileName);
    const caption = options.caption ?? '';
    const message: EmulatedMessage = {
      message_id: this.#nextMessageId++,
      chat_id: user.id,
      from: user.id,
      text: caption,
      document,
      ...(options.replyTo === undefined ? {} : { reply_to: options.replyTo }),
      sentAt: Date.now(),
      edits: 0,
    };
    this.#messages.push(message);
    const replied =
      options.replyTo === undefined
        ? undefined
        : this.#messages.find((m) => m.message_id === options.replyTo);
    this.#push({
      message: {
        ...this.#toApi(message),
        chat: { id: user.id, type: 'private', first_name: user.first_name },
        from: { id: user.id, is_bot: false, first_name: user.first_name },
        ...(caption.startsWith('/')
          ? {
              caption_entities: [
                { type: 'bot_command', offset: 0, length: caption.split(/\s/)[0]?.length ?? 1 },
              ],
            }
          : {}),
        ...(replied === undefined ? {} : { reply_to_message: this.#toApi(replied) }),
      },
    });
    return message;
  }

  /** The file a document message carries, by file_id (for files the bot sent too). */
  file(fileId: string): EmulatedDocument | undefined {
    return this.#files.get(fileId);
  }

  #storeFile(bytes: Uint8Array, fileName: string): EmulatedDocument {
    const n = this.#nextFileId++;
    const document: EmulatedDocument = {
      file_id: `BQACAgIAAxkBAAI${n.toString(36).padStart(6, '0')}`,
      file_unique_id: `AgAD${n.toString(36).padStart(4, '0')}`,
      file_name: fileName,
      bytes: Uint8Array.from(bytes),
    };
    this.#files.set(document.file_id, document);
    return document;
  }

  /** A user presses an inline button `data` under the bot's message `messageId`. */
  userClicks(user: EmulatedUser, messageId: number, data: string): void {
    const message = this.#messages.find((m) => m.message_id === messageId);
    if (message === undefined) throw new Error(`no message ${messageId}`);
    this.#push({
      callback_query: {
        id: `cb${this.#nextUpdateId}`,
        from: { id: user.id, is_bot: false, first_name: user.first_name },
        chat_instance: String(message.chat_id),
        message: this.#toApi(message),
        data,
      },
    });
  }

  /** Updates handed out but not yet confirmed by a getUpdates with a higher offset. */
  get pendingUpdates(): number {
    return this.#updates.length;
  }

  /** Everything the bot wrote to `chatId`, oldest first. */
  botMessages(chatId: number): EmulatedMessage[] {
    return this.#messages.filter((m) => m.chat_id === chatId && m.from === 'bot');
  }

  /** Every message the bot wrote. */
  allBotMessages(): EmulatedMessage[] {
    return this.#messages.filter((m) => m.from === 'bot');
  }

  /**
   * Waits until a bot message to `chatId` matches `predicate` (text or function), polling on every
   * change; rejects after `timeoutMs`.
   */
  async waitForBotMessage(
    chatId: number,
    predicate: RegExp | ((m: EmulatedMessage) => boolean),
    timeoutMs = 15_000,
  ): Promise<EmulatedMessage> {
    const test = (m: EmulatedMessage) =>
      predicate instanceof RegExp ? predicate.test(m.text) : predicate(m);
    return this.waitFor(
      () => this.botMessages(chatId).find(test),
      timeoutMs,
      `a bot message to ${chatId} matching ${String(predicate)}`,
    );
  }

  /**
   * `user` sends `text`; resolves with the first bot answer to them after it that matches
   * `expected`, and rejects after `timeoutMs`.
   */
  async ask(
    user: EmulatedUser,
    text: string,
    expected: RegExp,
    timeoutMs = 15_000,
  ): Promise<EmulatedMessage> {
    const before = this.botMessages(user.id).length;
    this.userSends(user, text);
    return this.waitFor(
      () =>
        this.botMessages(user.id)
          .slice(before)
          .find((m) => expected.test(m.text)),
      timeoutMs,
      `an answer to ${text} matching ${String(expected)}`,
    );
  }

  /** Resolves with `probe()`'s first defined answer, re-checked on every change and every 50 ms. */
  async waitFor<T>(probe: () => T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = probe();
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const recent = this.allBotMessages()
          .slice(-8)
          .map((m) => `  [${m.chat_id}] ${m.text.slice(0, 120).replace(/\n/g, ' ⏎ ')}`)
          .join('\n');
        throw new Error(`timed out waiting for ${what}; last bot messages:\n${recent}`);
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(done, 50);
        function done() {
          clearTimeout(timer);
          r();
        }
        this.#waiters.add(done);
      });
    }
  }

  #changed(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  #push(body: Record<string, unknown>): void {
    this.#updates.push({ update_id: this.#nextUpdateId++, ...body });
    this.#changed();
  }

  #toApi(m: EmulatedMessage): Record<string, unknown> {
    const isGroup = m.chat_id < 0 || this.#groups.has(m.chat_id);
    return {
      message_id: m.message_id,
      date: Math.floor(m.sentAt / 1000),
      chat: isGroup
        ? { id: m.chat_id, type: 'group', title: 'A group' }
        : { id: m.chat_id, type: 'private', first_name: 'User' },
      ...(m.from === 'bot'
        ? { from: BOT }
        : { from: { id: m.from, is_bot: false, first_name: 'User' } }),
      ...(m.document === undefined
        ? { text: m.text }
        : {
            document: {
              file_id: m.document.file_id,
              file_unique_id: m.document.file_unique_id,
              file_name: m.document.file_name,
              mime_type: 'application/octet-stream',
              file_size: m.document.bytes.length,
            },
            ...(m.text.length === 0 ? {} : { caption: m.text }),
          }),
      ...(m.reply_markup === undefined ? {} : { reply_markup: m.reply_markup }),
    };
  }

  #reply(res: ServerResponse, body: unknown, status = 200): void {
    this.#openPolls.delete(res);
    if (res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #error(res: ServerResponse, status: number, description: string, extra?: object): void {
    this.#reply(
      res,
      {
        ok: false,
        error_code: status,
        description,
        ...(extra === undefined ? {} : { parameters: extra }),
      },
      status,
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(pathname);
    if (download !== null) {
      this.#download(res, download[1] ?? '', download[2] ?? '');
      return;
    }
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(pathname);
    if (match === null) {
      this.#error(res, 404, 'Not Found');
      return;
    }
    if (match[1] !== this.token) {
      this.#error(res, 401, 'Unauthorized');
      return;
    }
    const method = match[2] ?? '';
    const body = Buffer.concat(chunks);
    const text = body.toString('utf8');
    let params: Record<string, unknown> = {};
    const boundary = /^multipart\/form-data;\s*boundary=(.+)$/i.exec(
      req.headers['content-type'] ?? '',
    )?.[1];
    if (boundary !== undefined) {
      params = this.#formParams(parseMultipart(body, boundary.replace(/^"|"$/g, '')));
    } else if (text.length > 0) {
      try {
        params = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.#error(res, 400, 'Bad Request: cannot parse JSON');
        return;
      }
    }
    const forced = this.#forced429;
    if (forced?.method === method && forced.count > 0) {
      forced.count--;
      this.tooManyRequests++;
      this.#error(res, 429, `Too Many Requests: retry after ${forced.retryAfter}`, {
        retry_after: forced.retryAfter,
      });
      return;
    }
    switch (method) {
      case 'getMe': {
        this.#reply(res, { ok: true, result: BOT });
        return;
      }
      case 'deleteWebhook':
      case 'setMyCommands':
        if (method === 'setMyCommands') this.commands.push(params.commands);
        {
          this.#reply(res, { ok: true, result: true });
          return;
        }
      case 'answerCallbackQuery': {
        this.#reply(res, { ok: true, result: true });
        return;
      }
      case 'getUpdates':
        return this.#getUpdates(res, params);
      case 'sendMessage':
        return this.#sendMessage(res, params);
      case 'editMessageText': {
        this.#editMessageText(res, params);
        return;
      }
      case 'editMessageReplyMarkup': {
        this.#editMessageReplyMarkup(res, params);
        return;
      }
      case 'deleteMessage': {
        this.#deleteMessage(res, params);
        return;
      }
      case 'sendDocument': {
        this.#sendDocument(res, params);
        return;
      }
      case 'getFile': {
        this.#getFile(res, params);
        return;
      }
      default: {
        this.#error(res, 404, 'Not Found: method not found');
        return;
      }
    }
  }

  async #getUpdates(res: ServerResponse, params: Record<string, unknown>): Promise<void> {
    const offset = typeof params.offset === 'number' ? params.offset : 0;
    const timeout = typeof params.timeout === 'number' ? params.timeout : 0;
    // Telegram forgets updates below the offset.
    while (this.#updates.length > 0 && (this.#updates[0]?.update_id ?? 0) < offset) {
      this.#updates.shift();
    }
    const deadline = Date.now() + timeout * 1000;
    this.#openPolls.add(res);
    res.once('close', () => this.#openPolls.delete(res));
    while (this.#updates.length === 0 && Date.now() < deadline && !res.writableEnded) {
      await new Promise<void>((r) => {
        const timer = setTimeout(done, 200);
        function done() {
          clearTimeout(timer);
          r();
        }
        this.#waiters.add(done);
      });
    }
    const batch = this.#updates.slice(0, 100);
    if (batch.length > 0 && !res.writableEnded) this.onHandOut?.(batch, offset);
    this.#reply(res, { ok: true, result: batch });
  }

  #floodCheck(chatId: number): number | undefined {
    const limits = this.#limits;
    if (limits === undefined) return undefined;
    const now = Date.now();
    while (this.#sentTimes.length > 0 && now - (this.#sentTimes[0] ?? 0) >= 1000) {
      this.#sentTimes.shift();
    }
    if (this.#sentTimes.length >= limits.globalPerSecond) return 1;
    const isGroup = chatId < 0 || this.#groups.has(chatId);
    if (isGroup) {
      const times = (this.#groupTimes.get(chatId) ?? []).filter((t) => now - t < 60_000);
      if (times.length >= limits.groupPerMinute) return 3;
      times.push(now);
      this.#groupTimes.set(chatId, times);
    } else {
      const last = this.#lastPerChat.get(chatId);
      if (last !== undefined && now - last < limits.privateGapMs) return 1;
      this.#lastPerChat.set(chatId, now);
    }
    this.#sentTimes.push(now);
    return undefined;
  }

  async #sendMessage(res: ServerResponse, params: Record<string, unknown>): Promise<void> {
    const chatId = Number(params.chat_id);
    const text = typeof params.text === 'string' ? params.text : '';
    if (!Number.isFinite(chatId)) {
      this.#error(res, 400, 'Bad Request: chat not found');
      return;
    }
    if (text.length === 0) {
      this.#error(res, 400, 'Bad Request: message text is empty');
      return;
    }
    if (text.length > 4096) {
      this.#error(res, 400, 'Bad Request: message is too long');
      return;
    }
    const held = this.#held;
    if (held?.chatId === chatId) {
      held.onHeld();
      await held.release;
      // The adapter that made this call may be gone; Telegram would still have accepted it, but a
      // held call models a request that never reached Telegram.
      if (res.destroyed || res.socket?.destroyed === true) return undefined;
      this.#error(res, 502, 'Bad Gateway');
      return;
    }
    const retryAfter = this.#floodCheck(chatId);
    if (retryAfter !== undefined) {
      this.tooManyRequests++;
      this.#error(res, 429, `Too Many Requests: retry after ${retryAfter}`, {
        retry_after: retryAfter,
      });
      return;
    }
    const replyParameters = params.reply_parameters as { message_id?: unknown } | undefined;
    const replyTo =
      typeof replyParameters?.message_id === 'number'
        ? replyParameters.message_id
        : typeof params.reply_to_message_id === 'number'
          ? params.reply_to_message_id
          : undefined;
    const message: EmulatedMessage = {
      message_id: this.#nextMessageId++,
      chat_id: chatId,
      from: 'bot',
      text,
      ...(replyTo === undefined ? {} : { reply_to: replyTo }),
      ...(params.reply_markup === undefined
        ? {}
        : { reply_markup: params.reply_markup as InlineKeyboard }),
      sentAt: Date.now(),
      edits: 0,
    };
    this.#messages.push(message);
    this.#changed();
    this.#reply(res, { ok: true, result: this.#toApi(message) });
    return undefined;
  }

  #editMessageText(res: ServerResponse, params: Record<string, unknown>): void {
    const chatId = Number(params.chat_id);
    const message = this.#messages.find(
      (m) => m.chat_id === chatId && m.message_id === params.message_id && m.from === 'bot',
    );
    if (message === undefined) {
      this.#error(res, 400, 'Bad Request: message to edit not found');
      return;
    }
    const text = typeof params.text === 'string' ? params.text : '';
    if (text === message.text && params.reply_markup === undefined) {
      this.#error(res, 400, 'Bad Request: message is not modified');
      return;
    }
    message.text = text;
    if (params.reply_markup !== undefined) {
      message.reply_markup = params.reply_markup as InlineKeyboard;
    } else {
      delete message.reply_markup;
    }
    message.edits++;
    this.#changed();
    this.#reply(res, { ok: true, result: this.#toApi(message) });
  }

  /**
   * Form fields as the Bot API reads them: a field that holds JSON (grammY stringifies objects)
   * is parsed, numbers stay numbers, and `attach://<part>` names an uploaded file part.
   */
  #formParams(parts: readonly FormPart[]): Record<string, unknown> {
    const params: Record<string, unknown> = {};
    for (const part of parts) {
      if (part.filename !== undefined) continue;
      const value = part.data.toString('utf8');
      const attached = /^attach:\/\/(.+)$/.exec(value)?.[1];
      const file = attached === undefined ? undefined : parts.find((p) => p.name === attached);
      if (file !== undefined) {
        params[part.name] = { upload: file.data, filename: file.filename ?? 'file' };
        continue;
      }
      try {
        params[part.name] = /^[[{\d-]/.test(value) ? JSON.parse(value) : value;
      } catch {
        params[part.name] = value;
      }
    }
    // A file sent directly under the field's own name (no attach:// reference).
    for (const part of parts) {
      if (part.filename !== undefined && params[part.name] === undefined) {
        params[part.name] = { upload: part.data, filename: part.filename };
      }
    }
    return params;
  }

  #deleteMessage(res: ServerResponse, params: Record<string, unknown>): void {
    const chatId = Number(params.chat_id);
    const message = this.#messages.find(
      (m) => m.chat_id === chatId && m.message_id === params.message_id && m.deleted !== true,
    );
    if (message === undefined) {
      this.#error(res, 400, 'Bad Request: message to delete not found');
      return;
    }
    message.deleted = true;
    this.deletions.push(`${chatId}:${message.message_id}`);
    this.#changed();
    this.#reply(res, { ok: true, result: true });
  }

  #sendDocument(res: ServerResponse, params: Record<string, unknown>): void {
    const chatId = Number(params.chat_id);
    const upload = params.document as { upload?: unknown; filename?: unknown } | undefined;
    if (!Number.isFinite(chatId)) {
      this.#error(res, 400, 'Bad Request: chat not found');
      return;
    }
    if (!(upload?.upload instanceof Buffer) || typeof upload.filename !== 'string') {
      this.#error(res, 400, 'Bad Request: there is no document in the request');
      return;
    }
    const caption = typeof params.caption === 'string' ? params.caption : '';
    if (caption.length > 1024) {
      this.#error(res, 400, 'Bad Request: message caption is too long');
      return;
    }
    const message: EmulatedMessage = {
      message_id: this.#nextMessageId++,
      chat_id: chatId,
      from: 'bot',
      text: caption,
      document: this.#storeFile(upload.upload, upload.filename),
      sentAt: Date.now(),
      edits: 0,
    };
    this.#messages.push(message);
    this.#changed();
    this.#reply(res, { ok: true, result: this.#toApi(message) });
  }

  #getFile(res: ServerResponse, params: Record<string, unknown>): void {
    const file = typeof params.file_id === 'string' ? this.#files.get(params.file_id) : undefined;
    if (file === undefined) {
      this.#error(res, 400, 'Bad Request: invalid file_id');
      return;
    }
    let path = [...this.#filePaths].find(([, id]) => id === file.file_id)?.[0];
    if (path === undefined) {
      path = `documents/file_${this.#filePaths.size + 1}.backup`;
      this.#filePaths.set(path, file.file_id);
    }
    this.#reply(res, {
      ok: true,
      result: {
        file_id: file.file_id,
        file_unique_id: file.file_unique_id,
        file_size: file.bytes.length,
        file_path: path,
      },
    });
  }

  /** `GET /file/bot<token>/<file_path>`: the raw bytes, as Telegram serves them. */
  #download(res: ServerResponse, token: string, path: string): void {
    const id = this.#filePaths.get(path);
    const file = id === undefined ? undefined : this.#files.get(id);
    if (token !== this.token || file === undefined) {
      res.writeHead(token !== this.token ? 401 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 404, description: 'Not Found' }));
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(file.bytes.length),
    });
    res.end(Buffer.from(file.bytes));
  }

  /** Replaces a bot message's buttons (none when `reply_markup` is absent), its text untouched. */
  #editMessageReplyMarkup(res: ServerResponse, params: Record<string, unknown>): void {
    const chatId = Number(params.chat_id);
    const message = this.#messages.find(
      (m) => m.chat_id === chatId && m.message_id === params.message_id && m.from === 'bot',
    );
    if (message === undefined) {
      this.#error(res, 400, 'Bad Request: message to edit not found');
      return;
    }
    const markup = params.reply_markup as InlineKeyboard | undefined;
    if (markup === undefined && message.reply_markup === undefined) {
      this.#error(res, 400, 'Bad Request: message is not modified');
      return;
    }
    if (markup === undefined || markup.inline_keyboard.length === 0) delete message.reply_markup;
    else message.reply_markup = markup;
    message.edits++;
    this.#changed();
    this.#reply(res, { ok: true, result: this.#toApi(message) });
  }
}
