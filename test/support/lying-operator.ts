/**
 * A lying Operator for tests: an HTTP proxy in front of a REAL Operator that holds the Operator's
 * signing key (the test is the Operator) and serves a forged registry log. The forged log is the
 * real one, read from the Operator on every answer, with some leaves replaced (a fork: same size,
 * another root) and some appended (an extension: consistent with the real log). Every receipt in
 * an answer gets its proof in the forged tree, lookups of a forged name answer the forged receipt,
 * and the log routes answer the forged tree's checkpoint, proofs and entries. Everything else
 * passes through. Only in test/: the product has no switch for this.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { HttpOperatorClient, KomradeClient, SqliteLocalStore } from '../../client/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import {
  MemoryMerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  noteSigner,
  rootHash,
  signCheckpoint,
} from '../../common/transparency/index.js';
import {
  COLLECTIVE_ROUTES,
  LOG_ROUTES,
  MAX_LOG_ENTRIES,
  ROUTES,
  logProofJson,
  receiptLeaf,
  registryOrigin,
  signReceipt,
  toBase64url,
  type KeyHolder,
  type LogProof,
  type Receipt,
} from '../../common/wire/index.js';

/** The Operator's signing key pair (read from its data folder, as `loadOperatorKeys` does). */
export interface OperatorSigningKeys {
  readonly signPublic: Uint8Array;
  readonly signSecret: Uint8Array;
}

/**
 * A receipt for `name` with keys the Operator (the attacker) chose, signed with the Operator key:
 * exactly what a targeted key swap hands the victim's correspondents.
 */
export function forgeReceipt(
  operator: OperatorSigningKeys,
  name: string,
  options: {
    readonly keys?: IdentityKeys;
    readonly keyHolder?: KeyHolder;
    readonly ratchetKey?: Uint8Array | null;
    readonly registeredAt?: number;
  } = {},
): Receipt {
  const keys = options.keys ?? generateIdentityKeys();
  return signReceipt(
    {
      name,
      signKey: keys.signPublic,
      boxKey: keys.boxPublic,
      keyHolder: options.keyHolder ?? 'self',
      ratchetKey:
        options.ratchetKey === undefined
          ? Uint8Array.of(0x05, ...keys.boxPublic)
          : options.ratchetKey,
      registeredAt: options.registeredAt ?? Date.now(),
    },
    operator.signSecret,
  );
}

/** A log held in memory and signed with the Operator key: the real one, or a forgery of it. */
export class SignedLog {
  readonly tree = new MemoryMerkleTree();
  readonly #entries: Receipt[] = [];
  readonly #index = new Map<string, number>();
  readonly #origin: string;

  constructor(
    readonly operator: OperatorSigningKeys,
    entries: readonly Receipt[] = [],
  ) {
    this.#origin = registryOrigin(operator.signPublic);
    for (const receipt of entries) this.append(receipt);
  }

  get size(): number {
    return this.tree.size;
  }

  get entries(): readonly Receipt[] {
    return this.#entries;
  }

  append(receipt: Receipt): number {
    const hash = leafHash(receiptLeaf(stripProof(receipt)));
    const index = this.tree.size;
    this.tree.append(hash);
    this.#entries.push(stripProof(receipt));
    this.#index.set(toBase64url(hash), index);
    return index;
  }

  /** The index of this exact receipt's leaf (its newest), if it is in the log. */
  indexOf(receipt: Receipt): number | undefined {
    return this.#index.get(toBase64url(leafHash(receiptLeaf(stripProof(receipt)))));
  }

  /** The newest leaf of `name`. */
  newest(name: string): { readonly index: number; readonly receipt: Receipt } | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const receipt = this.#entries[i];
      if (receipt?.name === name) return { index: i, receipt };
    }
    return undefined;
  }

  /** The checkpoint of the first `size` leaves, signed with the Operator key. */
  checkpoint(size = this.size): string {
    return signCheckpoint(
      { origin: this.#origin, size, rootHash: rootHash(this.tree, size), extensions: [] },
      noteSigner(this.#origin, this.operator),
    );
  }

  consistency(from: number, to: number): Uint8Array[] {
    return consistencyProof(this.tree, from, to);
  }

  /** The proof of leaf `index` in the whole log, with its checkpoint. */
  proof(index: number): LogProof {
    return {
      index,
      size: this.size,
      hashes: inclusionProof(this.tree, index, this.size),
      checkpoint: this.checkpoint(),
    };
  }

  /** The receipt with its proof in this log (which must hold it). */
  proven(receipt: Receipt): Receipt {
    const index = this.indexOf(receipt);
    if (index === undefined) throw new Error(`@${receipt.name}'s receipt is not in this log`);
    return { ...stripProof(receipt), proof: this.proof(index) };
  }

  /** Leaves `start` to `end − 1`. */
  slice(start: number, end: number): readonly Receipt[] {
    return this.#entries.slice(start, end);
  }
}

const stripProof = (receipt: Receipt): Receipt => {
  const rest = { ...receipt };
  delete rest.proof;
  return rest;
};

/** How the lying Operator bends the log. Empty: it passes everything through untouched. */
export interface Lie {
  /** The newest leaf of each of these names is replaced: a fork of the same size. */
  readonly replace?: readonly Receipt[];
  /** Appended after the real leaves: an extension of the real log (consistent with it). */
  readonly append?: readonly Receipt[];
  /**
   * Receipts of names the real log does not hold, put in place of its newest leaves (a fork of
   * the same size: the leaves they displace vanish from it).
   */
  readonly invent?: readonly Receipt[];
  /** Receipts added to every collective log page (they must be in the forged log). */
  readonly collectiveReceipts?: readonly Receipt[];
}

/** The receipt JSON of the API (what receipt-json.ts renders), with an optional proof. */
export function receiptJson(receipt: Receipt): Record<string, unknown> {
  return {
    name: receipt.name,
    signKey: toBase64url(receipt.signKey),
    boxKey: toBase64url(receipt.boxKey),
    keyHolder: receipt.keyHolder,
    ratchetKey: receipt.ratchetKey === null ? null : toBase64url(receipt.ratchetKey),
    registeredAt: receipt.registeredAt,
    sig: toBase64url(receipt.sig),
    ...(receipt.proof === undefined ? {} : { proof: logProofJson(receipt.proof) }),
  };
}

/** The lying Operator: a proxy at {@link LyingOperator.url}. */
export class LyingOperator {
  /** What it lies about now (tests change it between steps). */
  lie: Lie = {};
  /** How many answers it bent (a test checks the lie was told). */
  told = 0;
  readonly #upstream: string;
  readonly #keys: OperatorSigningKeys;
  readonly #agent = new Agent({ keepAliveTimeout: 1_000 });
  readonly #reader: HttpOperatorClient;
  readonly #server: Server;
  #url = '';

  private constructor(upstream: string, keys: OperatorSigningKeys) {
    this.#upstream = upstream.replace(/\/$/, '');
    this.#keys = keys;
    this.#reader = new HttpOperatorClient({
      baseUrl: this.#upstream,
      dispatcher: this.#agent,
      now: Date.now,
    });
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          const message = error instanceof Error ? error.message : 'proxy failure';
          res.end(JSON.stringify({ error: { code: 'INTERNAL', message } }));
        } else res.destroy();
      });
    });
  }

  /** Starts a proxy on a free loopback port in front of the Operator at `upstream`. */
  static async start(upstream: string, keys: OperatorSigningKeys): Promise<LyingOperator> {
    const proxy = new LyingOperator(upstream, keys);
    await new Promise<void>((resolveListen) => {
      proxy.#server.listen(0, '127.0.0.1', resolveListen);
    });
    const { port } = proxy.#server.address() as AddressInfo;
    proxy.#url = `http://127.0.0.1:${port}`;
    return proxy;
  }

  get url(): string {
    return this.#url;
  }

  /** The real log, as the Operator serves it now. */
  async realLog(): Promise<SignedLog> {
    const checkpoint = await this.#reader.logCheckpoint();
    const size = Number(checkpoint.split('\n')[1]);
    const entries: Receipt[] = [];
    while (entries.length < size) {
      const end = Math.min(size, entries.length + MAX_LOG_ENTRIES);
      entries.push(...(await this.#reader.logEntries(entries.length, end)));
    }
    return new SignedLog(this.#keys, entries);
  }

  /** The log it serves now: the real one with {@link LyingOperator.lie} applied. */
  async forgedLog(): Promise<SignedLog> {
    const real = await this.realLog();
    const replace = new Map((this.lie.replace ?? []).map((r) => [r.name, r]));
    const newest = new Map<string, number>();
    real.entries.forEach((r, i) => newest.set(r.name, i));
    const entries = real.entries.map((r, i) => {
      const forged = replace.get(r.name);
      return forged !== undefined && newest.get(r.name) === i ? forged : r;
    });
    const invented = this.lie.invent ?? [];
    if (invented.length > entries.length) throw new Error('nothing to displace');
    entries.splice(entries.length - invented.length, invented.length, ...invented);
    return new SignedLog(this.#keys, [...entries, ...(this.lie.append ?? [])]);
  }

  #lying(): boolean {
    const { replace = [], append = [], invent = [], collectiveReceipts = [] } = this.lie;
    return replace.length + append.length + invent.length + collectiveReceipts.length > 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readAll(req);
    const path = req.url ?? '/';
    const url = new URL(path, 'http://proxy');
    if (this.#lying() && req.method === 'GET' && url.pathname.startsWith('/v1/log/')) {
      await this.#logRoute(url, res);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (value === undefined || key === 'host' || key === 'connection') continue;
      headers[key] = Array.isArray(value) ? value.join(', ') : value;
    }
    const answer = await request(`${this.#upstream}${path}`, {
      method: (req.method ?? 'GET') as 'GET',
      headers,
      ...(body.length === 0 ? {} : { body }),
      dispatcher: this.#agent,
    });
    let bytes: Buffer = Buffer.from(await answer.body.arrayBuffer());
    const type = String(answer.headers['content-type'] ?? '');
    if (this.#lying() && type.includes('application/json') && bendsReceipts(url.pathname)) {
      const json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      if (await this.#bend(json)) {
        bytes = Buffer.from(JSON.stringify(json));
        this.told += 1;
      }
    }
    const out: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(answer.headers)) {
      if (value === undefined || key === 'content-length' || key === 'transfer-encoding') continue;
      if (key === 'connection' || key === 'keep-alive') continue;
      out[key] = value;
    }
    out['content-length'] = String(bytes.length);
    res.writeHead(answer.statusCode, out);
    res.end(bytes);
  }

  /** Puts the forged log into an answer's receipts; whether anything was in it to bend. */
  async #bend(json: Record<string, unknown>): Promise<boolean> {
    const forged = await this.forgedLog();
    const swap = (raw: unknown): Record<string, unknown> | undefined => {
      if (typeof raw !== 'object' || raw === null) return undefined;
      const name = (raw as { name?: unknown }).name;
      if (typeof name !== 'string') return undefined;
      const newest = forged.newest(name);
      if (newest === undefined) return undefined;
      return receiptJson({ ...newest.receipt, proof: forged.proof(newest.index) });
    };
    let bent = false;
    if ('receipt' in json) {
      const next = swap(json.receipt);
      if (next !== undefined) {
        json.receipt = next;
        bent = true;
      }
    }
    if (Array.isArray(json.receipts)) {
      const receipts: unknown[] = (json.receipts as unknown[]).map((r) => swap(r) ?? r);
      for (const extra of this.lie.collectiveReceipts ?? []) {
        receipts.push(receiptJson(forged.proven(extra)));
      }
      json.receipts = receipts;
      bent = true;
    }
    return bent;
  }

  async #logRoute(url: URL, res: ServerResponse): Promise<void> {
    const forged = await this.forgedLog();
    this.told += 1;
    const send = (status: number, value: unknown) => {
      const text = JSON.stringify(value);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(text)),
      });
      res.end(text);
    };
    const number = (key: string) => Number(url.searchParams.get(key) ?? 'NaN');
    try {
      if (url.pathname === LOG_ROUTES.checkpoint) {
        send(200, { checkpoint: forged.checkpoint() });
      } else if (url.pathname === LOG_ROUTES.consistency) {
        const from = number('from');
        const to = number('to');
        const hashes = forged.consistency(from, to).map(toBase64url);
        send(200, { from, to, hashes });
      } else if (url.pathname === LOG_ROUTES.entries) {
        const start = number('start');
        const end = Math.min(number('end'), forged.size);
        if (!(start >= 0 && start < end && end - start <= MAX_LOG_ENTRIES)) {
          throw new Error('entries out of range');
        }
        send(200, { start, entries: forged.slice(start, end).map(receiptJson) });
      } else {
        send(404, { error: { code: 'NOT_FOUND', message: 'no such route' } });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : 'bad request';
      send(400, { error: { code: 'BAD_REQUEST', message } });
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolveClose) => {
      this.#server.close(() => {
        resolveClose();
      });
    });
    await this.#agent.close();
  }
}

/** Answers whose receipts carry proofs: register, lookup, the ratchet-key update, collective pages. */
function bendsReceipts(pathname: string): boolean {
  return (
    pathname === ROUTES.register ||
    pathname === ROUTES.ratchetKey ||
    pathname.startsWith(ROUTES.komrade) ||
    pathname === COLLECTIVE_ROUTES.log
  );
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A komrade's client whose requests go to `url` (the real Operator, or the lying one). */
export interface ClientAt {
  readonly name: string;
  readonly keys: IdentityKeys;
  readonly client: KomradeClient;
  readonly store: SqliteLocalStore;
}

/** Clients, each with its own SQLite store in `dir`, all closed by `close`. */
export class ClientsAt {
  readonly #dir: string;
  readonly #stores: SqliteLocalStore[] = [];
  readonly #agents: Agent[] = [];

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** A client of `url` named `name` (not registered yet). */
  at(url: string, name: string, keys: IdentityKeys = generateIdentityKeys()): ClientAt {
    const agent = new Agent();
    this.#agents.push(agent);
    const store = new SqliteLocalStore(join(this.#dir, `${name}.db`), {
      storageKey: randomBytes(32),
    });
    this.#stores.push(store);
    const operator = new HttpOperatorClient({ baseUrl: url, dispatcher: agent, now: Date.now });
    const client = new KomradeClient({ operator, store, keys, now: Date.now, keyHolder: 'self' });
    return { name, keys, client, store };
  }

  /** {@link ClientsAt.at}, registered. */
  async registered(url: string, name: string): Promise<ClientAt> {
    const at = this.at(url, name);
    await at.client.register(name);
    return at;
  }

  async close(): Promise<void> {
    for (const store of this.#stores) store.close();
    await Promise.all(this.#agents.map((agent) => agent.close()));
  }
}
