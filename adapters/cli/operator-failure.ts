/**
 * Telling "Tor is missing" apart from "the Operator is down": both reach the CLI as transport
 * failures, but only the first is fixed by installing or starting tor.
 */
import type { OperatorDestination } from '../../client/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import { TorError, describeSocksReply, isTransientSocksReply } from '../../tor/index.js';

/** Node and undici codes of a plain connection that found nobody listening, or nobody answering. */
const NOT_ANSWERING_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);

/** The chain of `error` and its causes (bounded). */
function* causes(error: unknown): Generator<object> {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

/** The SOCKS reply Tor gave, when Tor itself answered (so tor runs) but could not connect. */
function torAnsweredButNotOperator(error: unknown): number | undefined {
  for (const e of causes(error)) {
    if (
      e instanceof TorError &&
      e.socksReply !== undefined &&
      isTransientSocksReply(e.socksReply)
    ) {
      return e.socksReply;
    }
  }
  return undefined;
}

function connectionCode(error: unknown): string | undefined {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_ANSWERING_CODES.has(code)) return code;
  }
  return undefined;
}

/**
 * Restates a failure to reach the Operator so it blames the right thing:
 * - Tor answered the SOCKS request but reported the onion service unreachable (descriptor not
 *   found, host unreachable, TTL expired, introduction failed…): tor works, the Operator does not
 *   answer. That becomes `OPERATOR_UNREACHABLE`, not `TOR_UNAVAILABLE`.
 * - A loopback Operator refused the connection: nobody listens on that port.
 * Everything else (no SOCKS proxy listening, tor could not start, any answer from the Operator)
 * is returned unchanged.
 *
 * @param error - what an `OperatorClient` call threw
 * @param destination - the Operator the call went to
 * @returns the error to report
 */
export function explainOperatorFailure(error: unknown, destination: OperatorDestination): unknown {
  const reply = torAnsweredButNotOperator(error);
  if (reply !== undefined) {
    return new KomradeError(
      'OPERATOR_UNREACHABLE',
      `The Operator at ${destination.url} is not answering (is it running?): Tor is working, but reports "${describeSocksReply(reply)}".`,
      { cause: error },
    );
  }
  if (destination.kind === 'loopback' && isKomradeError(error, 'OPERATOR_UNREACHABLE')) {
    const code = connectionCode(error);
    if (code !== undefined) {
      return new KomradeError(
        'OPERATOR_UNREACHABLE',
        `The Operator at ${destination.url} is not answering (is it running?): ${code === 'ECONNREFUSED' ? 'nothing listens on that port' : 'the connection timed out'}.`,
        { cause: error },
      );
    }
  }
  return error;
}
