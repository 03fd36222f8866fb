/** Test helpers that speak the Operator's API over real HTTP: komrades, registration, signing. */
import { request, type Dispatcher } from 'undici';
import {
  blake2b,
  blind,
  finalize,
  generateIdentityKeys,
  randomBytes,
  type IdentityKeys,
} from '../../common/crypto/index.js';
import {
  NONCE_BYTES,
  SEALED_SIZE_CLASSES,
  TOKEN_INPUT_BYTES,
  TOKEN_ROUTES,
  claimBytesForPow,
  fromBase64url,
  proveClaim,
  signRequest,
  solveProofOfWork,
  toBase64url,
  tokenEpochInfo,
  tokenEpochOf,
  type KeyHolder,
  type Token,
} from '../../common/wire/index.js';

/** A test identity. */
export interface TestKomrade {
  readonly name: string;
  readonly keys: IdentityKeys;
  /** Who holds the keys, as claimed at registration. @defaultValue 'self' */
  readonly keyHolder?: KeyHolder;
  /** The ratchet key it registers. @defaultValue {@link ratchetKeyOf}'s */
  readonly ratchetKey?: Uint8Array;
}

/** Bytes shaped like libsignal's Curve25519 public key (0x05, then 32): all the Operator checks. */
export function testRatchetKey(): Uint8Array {
  return Uint8Array.of(0x05, ...randomBytes(32));
}

/** The ratchet key `komrade` registers: its own, or one derived from its sign key (stable). */
export function ratchetKeyOf(komrade: TestKomrade): Uint8Array {
  return komrade.ratchetKey ?? Uint8Array.of(0x05, ...blake2b(komrade.keys.signPublic, 32));
}

/** An answer: status and parsed JSON body (or `undefined` when not JSON). */
export interface TestReply {
  readonly status: number;
  readonly json: unknown;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** Options for {@link TestClient.post}. */
export interface PostOptions {
  /** Sign the request as this komrade. */
  readonly as?: TestKomrade;
  /** Override the signed name (to claim someone else's name with `as`'s key). */
  readonly claimName?: string;
  /** Request time. @defaultValue the client's clock */
  readonly at?: number;
  readonly nonce?: Uint8Array;
  readonly contentType?: string;
  /** A ready Authorization header (for replays); wins over `as`. */
  readonly authorization?: string;
  /** The path the signature covers, when it should differ from the one requested. */
  readonly signedPath?: string;
}

/** Creates a komrade with fresh keys. */
export function makeKomrade(name: string): TestKomrade {
  return { name, keys: generateIdentityKeys() };
}

/** The JSON field a reply's error carries, for terse assertions. */
export function errorCode(reply: TestReply): string | undefined {
  const json = reply.json as { error?: { code?: string } } | undefined;
  return json?.error?.code;
}

/** A minimal Operator client that lets tests misbehave on purpose. */
export class TestClient {
  /** Header value of the last signed request. */
  lastAuthorization = '';

  /**
   * @param baseUrl - the Operator's URL (loopback, or an onion with a Tor `dispatcher`)
   * @param now - the clock signed requests are stamped with
   * @param dispatcher - how to connect, e.g. `createTorDispatcher(...)`; undici's global by default
   */
  constructor(
    readonly baseUrl: string,
    readonly now: () => number = Date.now,
    readonly dispatcher?: Dispatcher,
  ) {}

  /** undici options that route through {@link TestClient.dispatcher} when one is set. */
  get #via(): { dispatcher?: Dispatcher } {
    return this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher };
  }

  async get(path: string): Promise<TestReply> {
    const res = await request(`${this.baseUrl}${path}`, { method: 'GET', ...this.#via });
    return this.#reply(res);
  }

  /** POSTs `body` (an object is JSON-encoded; a string or bytes go as they are). */
  async post(path: string, body: unknown, options: PostOptions = {}): Promise<TestReply> {
    const bytes =
      typeof body === 'string'
        ? Buffer.from(body, 'utf8')
        : body instanceof Uint8Array
          ? body
          : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = {
      'content-type': options.contentType ?? 'application/json',
    };
    let authorization = options.authorization;
    if (authorization === undefined && options.as !== undefined) {
      authorization = signRequest({
        method: 'POST',
        path: options.signedPath ?? path,
        name: options.claimName ?? options.as.name,
        at: options.at ?? this.now(),
        nonce: options.nonce ?? randomBytes(NONCE_BYTES),
        body: bytes,
        signSecret: options.as.keys.signSecret,
      });
    }
    if (authorization !== undefined) {
      headers.authorization = authorization;
      this.lastAuthorization = authorization;
    }
    const res = await request(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers,
      body: bytes,
      ...this.#via,
    });
    return this.#reply(res);
  }

  /** Registers `komrade` with a valid proof of possession and proof of work. */
  async register(komrade: TestKomrade, powBits: number): Promise<TestReply> {
    return this.post('/v1/register', await registrationBody(komrade, powBits));
  }

  /** The Operator's published token key (`GET /v1/operator`). */
  async tokenKey(): Promise<Uint8Array> {
    const info = (await this.get('/v1/operator')).json as { tokenKey?: string } | undefined;
    const key = info?.tokenKey === undefined ? undefined : fromBase64url(info.tokenKey);
    if (key === undefined) throw new Error('The Operator publishes no token key.');
    return key;
  }

  /**
   * Obtains `count` tokens as `as` (blind, signed issue request, proof checked against the
   * published key, finalize), for the epoch of this client's clock.
   * @throws Error carrying the Operator's error code when the issue request is refused
   */
  async tokens(as: TestKomrade, count = 1, epoch = tokenEpochOf(this.now())): Promise<Token[]> {
    const key = await this.tokenKey();
    const inputs = Array.from({ length: count }, () => randomBytes(TOKEN_INPUT_BYTES));
    const batch = blind('POPRF', inputs);
    const reply = await this.post(
      TOKEN_ROUTES.issue,
      { epoch, blinded: batch.blindedElements.map(toBase64url) },
      { as },
    );
    if (reply.status !== 200) {
      throw new Error(`token issue refused: ${errorCode(reply) ?? reply.status}`);
    }
    const json = reply.json as { evaluated: string[]; proof: string };
    const outputs = finalize({ mode: 'POPRF', info: tokenEpochInfo(epoch) }, key, batch, {
      evaluatedElements: json.evaluated.map((e) => fromBase64url(e) ?? new Uint8Array(0)),
      proof: fromBase64url(json.proof) ?? new Uint8Array(0),
    });
    return inputs.map((input, i) => ({ epoch, input, output: outputs[i] as Uint8Array }));
  }

  /** POST /v2/mail/send with no Authorization header. */
  async sendAnonymously(to: string, sealed: Uint8Array, token: Token): Promise<TestReply> {
    return this.post(TOKEN_ROUTES.send, anonymousSendBody(to, sealed, token));
  }

  /** Obtains a token as `from`, then sends `sealed` (a random 1 KiB one by default) to `to`. */
  async sendLetter(
    from: TestKomrade,
    to: string,
    sealed: Uint8Array = sealedOfClass(),
  ): Promise<TestReply> {
    const [token] = await this.tokens(from, 1);
    if (token === undefined) throw new Error('no token');
    return this.sendAnonymously(to, sealed, token);
  }

  async #reply(res: Awaited<ReturnType<typeof request>>): Promise<TestReply> {
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, headers: res.headers };
  }
}

/** Random bytes standing in for a sealed letter, of a size class (1 KiB by default). */
export function sealedOfClass(length: number = SEALED_SIZE_CLASSES[0]): Uint8Array {
  return randomBytes(length);
}

/** The JSON body of an anonymous send. */
export function anonymousSendBody(
  to: string,
  sealed: Uint8Array,
  token: Token,
): Record<string, unknown> {
  return {
    to,
    sealed: toBase64url(sealed),
    token: {
      epoch: token.epoch,
      input: toBase64url(token.input),
      output: toBase64url(token.output),
    },
  };
}

/** A valid register request body for `komrade` (name as given). */
export async function registrationBody(
  komrade: TestKomrade,
  powBits: number,
): Promise<Record<string, string>> {
  const claim = {
    name: komrade.name,
    signKey: komrade.keys.signPublic,
    boxKey: komrade.keys.boxPublic,
    keyHolder: komrade.keyHolder ?? 'self',
    ratchetKey: ratchetKeyOf(komrade),
  };
  const pop = proveClaim(claim, komrade.keys.signSecret);
  const pow = await solveProofOfWork(claimBytesForPow(claim), powBits);
  return {
    name: komrade.name,
    signKey: toBase64url(claim.signKey),
    boxKey: toBase64url(claim.boxKey),
    keyHolder: claim.keyHolder,
    ratchetKey: toBase64url(claim.ratchetKey),
    pop: toBase64url(pop),
    pow: toBase64url(pow),
  };
}
