/** Authenticates a signed request: header, registered signer, signature, clock, replay. */
import { KomradeError } from '../../common/errors/index.js';
import { CLOCK_SKEW_MS, parseRequestAuth, verifyRequestAuth } from '../../common/wire/index.js';
import type { RegisteredKomrade } from '../store/registry.js';
import type { OperatorDeps } from './operator-deps.js';

/** The parts of a request its signature covers. */
export interface SignedParts {
  readonly authorization: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array;
  readonly now: number;
}

/**
 * Returns the registered komrade who signed the request. The signature is checked against the key
 * registered for the claimed name, and the nonce is remembered durably until it is too old to pass
 * the clock check anyway, so a replay fails even after a restart.
 * @throws KomradeError `AUTH_REQUIRED`, `BAD_REQUEST`, `NAME_UNKNOWN`, `BAD_SIGNATURE`,
 * `CLOCK_SKEW`, `REPLAY`
 */
export async function authenticate(
  deps: OperatorDeps,
  parts: SignedParts,
): Promise<RegisteredKomrade> {
  const parsed = parseRequestAuth(parts.authorization);
  if (!parsed.ok) throw parsed.error;
  const auth = parsed.value;
  const signer = await deps.store.lookup(auth.name);
  if (signer === undefined) {
    throw new KomradeError('NAME_UNKNOWN', 'The signer of this request is not registered.');
  }
  if (!verifyRequestAuth(auth, parts.method, parts.path, parts.body, signer.signKey)) {
    throw new KomradeError('BAD_SIGNATURE', 'The request signature does not verify.');
  }
  if (Math.abs(auth.at - parts.now) > CLOCK_SKEW_MS) {
    throw new KomradeError(
      'CLOCK_SKEW',
      `The request time is more than ${CLOCK_SKEW_MS / 60_000} minutes from the Operator's clock; check your clock.`,
    );
  }
  // Kept one millisecond past the last moment the clock check would still accept it.
  if (!(await deps.store.remember(auth.name, auth.nonce, auth.at + CLOCK_SKEW_MS + 1))) {
    throw new KomradeError('REPLAY', 'This request was already received once.');
  }
  return signer;
}
