/**
 * Issue #9: small-order and malformed public keys are refused where they enter. The Operator over
 * real HTTP refuses to register them and contains names stored before the check; the operator
 * client refuses a lying Operator's receipts that carry them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient } from '../../client/index.js';
import {
  DEFAULT_CONSTITUTION,
  collectivePowBytes,
  genesisDraft,
  signCollectiveEvent,
} from '../../common/collectives/index.js';
import {
  generateIdentityKeys,
  generateOprfKeyPair,
  randomBytes,
} from '../../common/crypto/index.js';
import {
  COLLECTIVE_ROUTES,
  ROUTES,
  decodeSignedPost,
  fromBase64url,
  openFeedPage,
  operatorInfoSchema,
  sealPost,
  signReceipt,
  solveProofOfWork,
  toBase64url,
  type OperatorInfo,
  type Receipt,
} from '../../common/wire/index.js';
import type { SqliteStore } from '../../operator/index.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  registrationBody,
  type TestKomrade,
} from '../support/operator-test-client.js';
import { LOW_ORDER_X25519, SMALL_ORDER_ED25519 } from '../support/small-order-keys.js';

const POW_BITS = 6;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const now = () => Date.now();

describe('the Operator refuses small-order keys (real HTTP, real SQLite)', () => {
  let started: TestOperator;
  let store: SqliteStore;
  let client: TestClient;
  let info: OperatorInfo;
  const alice = makeKomrade('alice');

  beforeAll(async () => {
    started = await startTestOperator({ powBits: POW_BITS, http: 'maxRequestBytes: 65536', now });
    store = started.store;
    client = new TestClient(started.url, now);
    info = operatorInfoSchema.parse((await client.get(ROUTES.operator)).json);
    expect((await client.register(alice, POW_BITS)).status).toBe(201);
  });

  afterAll(() => started.close());

  /** A komrade with a real signing key (so the proofs verify) and the box key `box`. */
  const withBox = (name: string, box: Uint8Array): TestKomrade => {
    const made = makeKomrade(name);
    return { name, keys: { ...made.keys, boxPublic: box } };
  };

  it.each(LOW_ORDER_X25519.map((key, i) => [i, hex(key).slice(0, 12), key] as const))(
    'refuses low-order box key #%i (%s…) with 400 KEY_INVALID and stores nothing',
    async (i, _, box) => {
      const name = `lowbox${String(i)}`;
      const reply = await client.register(withBox(name, box), POW_BITS);
      expect([reply.status, errorCode(reply)]).toEqual([400, 'KEY_INVALID']);
      expect(await store.lookup(name)).toBeUndefined();
      expect(errorCode(await client.get(`${ROUTES.komrade}${name}`))).toBe('NAME_UNKNOWN');
    },
  );

  it.each(SMALL_ORDER_ED25519.map((key, i) => [i, hex(key).slice(0, 12), key] as const))(
    'refuses small-order signing key #%i (%s…) with 400 KEY_INVALID and stores nothing',
    async (i, _, sign) => {
      // No proof of possession can verify for such a key: the refusal must name the key instead.
      const name = `smallsign${String(i)}`;
      const body = await registrationBody(makeKomrade(name), POW_BITS);
      const reply = await client.post(ROUTES.register, { ...body, signKey: toBase64url(sign) });
      expect([reply.status, errorCode(reply)]).toEqual([400, 'KEY_INVALID']);
      expect(await store.lookup(name)).toBeUndefined();
    },
  );

  it('still registers sound keys', async () => {
    expect((await client.register(makeKomrade('bruno'), POW_BITS)).status).toBe(201);
  });

  describe('a name stored before keys were checked', () => {
    const legacy = withBox('zed', LOW_ORDER_X25519[0]!);

    beforeAll(async () => {
      // Straight into the store, as a migrated registry could hold it.
      const operatorKeys = generateIdentityKeys();
      await store.register(
        signReceipt(
          {
            name: legacy.name,
            signKey: legacy.keys.signPublic,
            boxKey: legacy.keys.boxPublic,
            keyHolder: 'self',
            ratchetKey: null,
            registeredAt: now(),
          },
          operatorKeys.signSecret,
        ),
      );
      await store.durable();
    });

    it('answers its feed page with 400 KEY_INVALID (not 500), and everyone else’s as before', async () => {
      const post = {
        v: 1 as const,
        from: alice.name,
        postedAt: now(),
        id: randomBytes(16),
        days: 1,
        body: 'hello',
      };
      const sealed = sealPost(post, alice.keys.signSecret, info.feedKey);
      expect(
        (await client.post(ROUTES.post, { sealed: toBase64url(sealed) }, { as: alice })).status,
      ).toBe(201);

      const refused = await client.post(ROUTES.feed, {}, { as: legacy });
      expect([refused.status, errorCode(refused)]).toEqual([400, 'KEY_INVALID']);

      const page = await client.post(ROUTES.feed, {}, { as: alice });
      expect(page.status).toBe(200);
      const opened = openFeedPage(
        fromBase64url((page.json as { sealed: string }).sealed)!,
        alice.keys.boxPublic,
        alice.keys.boxSecret,
      );
      if (!opened.ok) throw opened.error;
      const bodies = opened.value.posts.map((carried) => {
        const decoded = decodeSignedPost(carried);
        if (!decoded.ok) throw decoded.error;
        return decoded.value.post.body;
      });
      expect(bodies).toEqual(['hello']);
    });

    it('answers a lookup of it with KEY_INVALID instead of a receipt nobody can seal to', async () => {
      const reply = await client.get(`${ROUTES.komrade}${legacy.name}`);
      expect([reply.status, errorCode(reply)]).toEqual([400, 'KEY_INVALID']);
      expect(JSON.stringify(reply.json)).not.toContain(toBase64url(legacy.keys.boxPublic));
      expect((await client.get(`${ROUTES.komrade}${alice.name}`)).status).toBe(200);
    });

    it('refuses a collective genesis naming it as a founder (rule "key-invalid")', async () => {
      const draft = genesisDraft('commune', alice.name, now(), {
        founders: [alice.name, legacy.name],
        constitution: DEFAULT_CONSTITUTION,
      });
      const genesis = signCollectiveEvent(draft, alice.keys.signSecret);
      const pow = await solveProofOfWork(collectivePowBytes(genesis.signed), POW_BITS);
      const reply = await client.post(
        COLLECTIVE_ROUTES.create,
        {
          genesis: { signed: toBase64url(genesis.signed), sig: toBase64url(genesis.sig) },
          pow: toBase64url(pow),
        },
        { as: alice },
      );
      expect([reply.status, errorCode(reply)]).toEqual([409, 'COLLECTIVE_RULE']);
      const { message } = (reply.json as { error: { message: string } }).error;
      expect(message).toContain('rule "key-invalid"');
      expect(message).toContain('@zed');
    });
  });
});

describe('the operator client refuses a lying Operator’s small-order keys', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  let server: Server;
  let url: string;
  let dispatcher: Agent;
  let handler: Handler = (_req, res) => res.writeHead(500).end();
  // The lying Operator signs its receipts with its real key: the signature alone proves nothing.
  const liar = generateIdentityKeys();
  const honest = generateIdentityKeys();

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        handler(req, res);
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    dispatcher = new Agent();
  });
  afterAll(async () => {
    await dispatcher.close();
    await new Promise((done) => server.close(done));
  });

  // A scripted server answers every path alike: signed requests, no session handshake.
  const client = () => new HttpOperatorClient({ baseUrl: url, dispatcher, now, sessions: false });
  const reply =
    (body: unknown): Handler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
  const receiptJson = (receipt: Receipt) => ({
    name: receipt.name,
    signKey: toBase64url(receipt.signKey),
    boxKey: toBase64url(receipt.boxKey),
    keyHolder: receipt.keyHolder,
    ratchetKey: receipt.ratchetKey === null ? null : toBase64url(receipt.ratchetKey),
    registeredAt: receipt.registeredAt,
    sig: toBase64url(receipt.sig),
  });
  const receiptWith = (keys: { sign?: Uint8Array; box?: Uint8Array }, name = 'bob') =>
    signReceipt(
      {
        name,
        signKey: keys.sign ?? honest.signPublic,
        boxKey: keys.box ?? honest.boxPublic,
        keyHolder: 'self',
        ratchetKey: null,
        registeredAt: 1_700_000_000_000,
      },
      liar.signSecret,
    );
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => 'resolved',
      (e: unknown) => (e as { code?: string }).code,
    );

  it('uses an honest lookup answer (the control)', async () => {
    handler = reply({ receipt: receiptJson(receiptWith({})) });
    const receipt = await client().lookup('bob');
    expect(hex(receipt.boxKey)).toBe(hex(honest.boxPublic));
  });

  it.each(LOW_ORDER_X25519.map((key) => [hex(key).slice(0, 12), key] as const))(
    'refuses a lookup answer whose box key is low-order (%s…) with KEY_INVALID',
    async (_, box) => {
      handler = reply({ receipt: receiptJson(receiptWith({ box })) });
      expect(await codeOf(client().lookup('bob'))).toBe('KEY_INVALID');
    },
  );

  it.each(SMALL_ORDER_ED25519.map((key) => [hex(key).slice(0, 12), key] as const))(
    'refuses a lookup answer whose signing key is small-order (%s…) with KEY_INVALID',
    async (_, sign) => {
      handler = reply({ receipt: receiptJson(receiptWith({ sign })) });
      expect(await codeOf(client().lookup('bob'))).toBe('KEY_INVALID');
    },
  );

  it('refuses such a receipt as the answer to a registration', async () => {
    handler = reply({ receipt: receiptJson(receiptWith({ box: LOW_ORDER_X25519[2]! })) });
    const request = {
      name: 'bob',
      signKey: honest.signPublic,
      boxKey: honest.boxPublic,
      keyHolder: 'self' as const,
      pop: randomBytes(64),
      pow: randomBytes(8),
    };
    expect(await codeOf(client().register(request))).toBe('KEY_INVALID');
  });

  it('refuses a collective log page carrying such a receipt', async () => {
    handler = reply({
      collective: 'portland',
      from: 0,
      events: [],
      length: 0,
      receipts: [
        receiptJson(receiptWith({})),
        receiptJson(receiptWith({ box: LOW_ORDER_X25519[3]! }, 'mallory')),
      ],
    });
    const signer = { name: 'alice', signSecret: generateIdentityKeys().signSecret };
    const error = await client()
      .collectiveLog(signer, 'portland', 0)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'KEY_INVALID' });
    expect((error as Error).message).toContain('@mallory');
  });

  it('refuses Operator info announcing a low-order feed key', async () => {
    const infoJson = (feedKey: Uint8Array) => ({
      version: 2,
      signKey: toBase64url(liar.signPublic),
      feedKey: toBase64url(feedKey),
      tokenKey: toBase64url(generateOprfKeyPair().publicKey),
      tokensPerDay: 500,
      powBits: 8,
      limits: {
        sealedLetterBytes: 65_536,
        batchLetters: 64,
        requestBytes: 1_000_000,
        maxPostDays: 30,
        feedPageSize: 50,
        fetchLetters: 100,
      },
    });
    handler = reply(infoJson(honest.boxPublic));
    expect(await codeOf(client().info())).toBe('resolved');
    handler = reply(infoJson(LOW_ORDER_X25519[1]!));
    expect(await codeOf(client().info())).toBe('KEY_INVALID');
  });
});
