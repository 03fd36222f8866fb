/** POST /v2/prekeys/bundle: someone's prekey bundle, paid for with one anonymous token. */
import { blake2b } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  PREKEY_ROUTES,
  isCanonicalName,
  prekeyBundleJson,
  prekeyBundleRequestSchema,
  type PrekeyBundle,
  type Token,
} from '../../../common/wire/index.js';
import type { OperatorConfig } from '../../config/operator-config.js';
import type { OperatorStore } from '../../store/operator-store.js';
import { handoutHour } from '../../store/prekey-store.js';
import type { TokenVerifier } from '../../tokens/check-token.js';
import { parseBody, type PublicRoute } from '../route.js';

const BUNDLE_TAG = new TextEncoder().encode('komrade prekey bundle v1\0');

/**
 * What a retry must repeat: the name. Stored as the spent token's "letter hash", tagged so no
 * letter's hash (which starts with its recipient's length) can equal it. The token's input (never
 * stored) goes in too: a copy of the disk cannot test the hash against a list of names to learn
 * whose bundles were fetched.
 */
export function bundleHash(name: string, tokenInput: Uint8Array): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  const tagged = new Uint8Array(BUNDLE_TAG.length + tokenInput.length + bytes.length);
  tagged.set(BUNDLE_TAG);
  tagged.set(tokenInput, BUNDLE_TAG.length);
  tagged.set(bytes, BUNDLE_TAG.length + tokenInput.length);
  return blake2b(tagged, 32);
}

/** What {@link fetchPrekeyBundle} needs. */
export interface PrekeyBundleDeps {
  readonly config: Pick<OperatorConfig, 'prekeys'>;
  readonly tokens: Pick<TokenVerifier, 'check'>;
  readonly store: Pick<OperatorStore, 'lookup' | 'takeBundle' | 'durable'>;
}

/**
 * Checks the token, then the name (canonical, registered), then in one transaction spends the
 * token and takes the bundle, its one-time prekey deleted; answers only once that is durable,
 * so a one-time prekey is never handed out twice, even across a crash. The same token for the
 * same name again answers the bundle without a one-time prekey (the first answer had it).
 * @throws KomradeError `TOKEN_INVALID`, `NAME_INVALID`, `NAME_UNKNOWN`, `PREKEYS_MISSING`,
 *   `TOKEN_SPENT`
 */
export async function fetchPrekeyBundle(
  deps: PrekeyBundleDeps,
  request: { readonly name: string; readonly token: Token },
  now: number,
): Promise<PrekeyBundle> {
  const { name, token } = request;
  const inputHash = deps.tokens.check(token, now);
  if (!isCanonicalName(name)) throw new KomradeError('NAME_INVALID', 'name: not a canonical name.');
  if ((await deps.store.lookup(name)) === undefined) {
    throw new KomradeError('NAME_UNKNOWN', 'name: no komrade by that name.');
  }
  const taken = await deps.store.takeBundle(
    { epoch: token.epoch, inputHash, letterHash: bundleHash(name, token.input) },
    name,
    { hour: handoutHour(now), perHour: deps.config.prekeys.oneTimePerHour },
  );
  await deps.store.durable();
  return {
    name,
    signedPrekey: taken.signedPrekey,
    kyberPrekey: taken.kyberPrekey,
    ...(taken.oneTimePrekey === undefined ? {} : { oneTimePrekey: taken.oneTimePrekey }),
  };
}

/** POST /v2/prekeys/bundle (not signed: an Authorization header, if any, is ignored). */
export const prekeyBundleRoute: PublicRoute = {
  method: 'POST',
  template: PREKEY_ROUTES.bundle,
  signed: false,
  handle: async ({ deps, body, now }) => {
    const request = parseBody(prekeyBundleRequestSchema, body, 'bundle request');
    return { status: 200, body: prekeyBundleJson(await fetchPrekeyBundle(deps, request, now)) };
  },
};
