/** Test helpers that speak the Operator's API over real HTTP: komrades, registration, signing. */
import { request, type Dispatcher } from 'undici';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import {
  NONCE_BYTES,
  claimBytesForPow,
  proveClaim,
  signRequest,
  solveProofOfWork,
  toBase64url,
  type KeyHolder,
} from '../../common/wire/index.js';

/** A test identity. */
export interface TestKomrade {
  readonly name: string;
  readonly keys: IdentityKeys;
  /** Who holds the keys, as claimed at registration. @defaultValue 'self' */
  readonly keyHolder?: KeyHolder;
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
  };
  const pop = proveClaim(claim, komrade.keys.signSecret);
  const pow = await solveProofOfWork(claimBytesForPow(claim), powBits);
  return {
    name: komrade.name,
    signKey: toBase64url(claim.signKey),
    boxKey: toBase64url(claim.boxKey),
    keyHolder: claim.keyHolder,
    pop: toBase64url(pop),
    pow: toBase64url(pow),
  };
}
