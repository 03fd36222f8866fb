/** What to do about each error: the hint printed under the message. */
import type { ErrorCode } from '../../common/errors/index.js';

/** Facts a hint may mention; none of them secret. */
export interface HintContext {
  readonly operatorUrl?: string;
  readonly home?: string;
  /** The running tor's SOCKS port (`host:port`) used for an onion Operator, when one is set. */
  readonly torSocks?: string;
  /** The komrade the command names, canonical (`bob`). */
  readonly name?: string;
  /** The collective the command names, canonical (`portland`). */
  readonly collective?: string;
}

const at = (name: string | undefined, placeholder: string): string =>
  name === undefined ? placeholder : `@${name}`;

/**
 * The fix for an error code, if there is a useful one. Exhaustive on purpose: a new code must
 * decide whether it has a hint.
 */
export function hintFor(code: ErrorCode, context: HintContext): string | undefined {
  switch (code) {
    case 'NAME_TAKEN':
      return `${context.name === undefined ? 'That name' : `@${context.name}`}, or a name that looks like it, belongs to someone else: choose another name.`;
    case 'NAME_RESERVED':
      return 'Choose another name.';
    case 'NAME_INVALID':
      return 'Names are 3 to 32 characters from a–z, 0–9 and "_", e.g. @alice or @rosa_l.';
    case 'NAME_UNKNOWN':
      if (context.collective !== undefined && context.name === undefined) {
        return `Check the spelling: there is no collective @${context.collective} at this Operator. To found it: \`komrade collective create @${context.collective}\`.`;
      }
      return `Check the spelling: nobody is registered as ${at(context.name, 'that name')} at this Operator.`;
    case 'OPERATOR_UNREACHABLE':
      return operatorUnreachableHint(context.operatorUrl);
    case 'KEYSTORE_MISSING':
      return `Run \`komrade init --operator <url>\` first, or point --home / KOMRADE_HOME at your komrade folder${context.home === undefined ? '' : ` (looked in ${context.home})`}.`;
    case 'KEYSTORE_EXISTS':
      return 'Keep using it, or pass --home <dir> to create a separate identity.';
    case 'WRONG_PASSPHRASE':
      return 'Check the passphrase (KOMRADE_PASSPHRASE in scripts). If the file was altered, restore keystore.json from a backup.';
    case 'KEYSTORE_CORRUPT':
      return 'Restore keystore.json from a backup; without it this identity cannot be recovered.';
    case 'NOT_REGISTERED':
      return 'Run `komrade register NAME` first.';
    case 'LOG_INCONSISTENT':
      return 'The Operator showed you a registry that contradicts what it showed before or to others. Keep the evidence (`komrade verify-me` prints it) and warn your komrades through another channel.';
    case 'OPERATOR_KEY_CHANGED':
      return 'Stop here unless the Operator told you, through a channel you trust, that its keys changed.';
    case 'OPERATOR_ERROR':
    case 'INTERNAL':
      return 'The Operator did not answer as expected; try again later or tell its administrator.';
    case 'CLOCK_SKEW':
      return "Check this computer's clock and time zone.";
    case 'REPLAY':
    case 'BAD_PROOF_OF_WORK':
    case 'SESSION_UNKNOWN':
      return 'Try again.';
    case 'LETTER_TOO_LARGE':
    case 'PAYLOAD_TOO_LARGE':
    case 'BATCH_TOO_LARGE':
      return 'Shorten the text, or split it into several letters.';
    case 'MAILBOX_FULL':
      return "The recipient's mailbox is full until they read their letters; try again later.";
    case 'USAGE':
      return 'See `komrade --help`.';
    case 'CONFIG_INVALID':
      return 'Check the options and environment variables you passed.';
    case 'TOR_UNAVAILABLE':
      // An Operator that tor reports unreachable is OPERATOR_UNREACHABLE: this is tor itself.
      return context.torSocks === undefined
        ? 'Install tor so komrade can start its own (Debian/Ubuntu: apt-get install tor; or --tor-binary PATH), or use a running tor: KOMRADE_TOR_SOCKS=127.0.0.1:9050.'
        : `Start tor (e.g. systemctl start tor), or point KOMRADE_TOR_SOCKS at the SOCKS port of a tor that runs; komrade used ${context.torSocks}.`;
    case 'AUTH_REQUIRED':
    case 'BAD_SIGNATURE':
      return 'Is this identity registered at this Operator? Check `komrade whoami`.';
    case 'POST_INVALID':
    case 'LETTER_INVALID':
    case 'DECODE_FAILED':
    case 'BAD_REQUEST':
    case 'NOT_FOUND':
    case 'METHOD_NOT_ALLOWED':
      return undefined;
    case 'NOT_MEMBER': {
      const collective = at(context.collective, '@COLLECTIVE');
      return `Only members (and candidates who asked to join) can do that: \`komrade collective join ${collective}\` first.`;
    }
    case 'COLLECTIVE_RULE': {
      const collective = at(context.collective, '@COLLECTIVE');
      return `See the collective's rules with \`komrade collective constitution ${collective}\` and its state with \`komrade collective show ${collective}\`.`;
    }
    case 'COLLECTIVE_CONFLICT':
      return 'Many members acted on the collective at once and komrade gave up retrying; try again in a moment.';
    case 'KEY_INVALID':
      return 'A public key was malformed or unsafe (for example a low-order X25519 point): nothing was accepted from it.';
    case 'REQUEST_TIMEOUT':
      return 'The request took too long to arrive; check your connection and try again.';
    case 'EMPTY_MESSAGE':
      return 'Write something: empty and whitespace-only texts are not sent.';
    case 'BACKUP_INVALID':
      return 'Check the backup file and its passphrase; a damaged or altered backup cannot be restored.';
    case 'AGENT_UNAVAILABLE':
      return 'Run `komrade unlock` again, or type the passphrase when asked.';
    case 'COLLECTIVE_INVALID':
      return "The log the Operator served breaks the collective's rules: nothing was accepted from it. Tell the other members; the Operator may be misbehaving.";
    case 'TOKEN_PROOF_INVALID':
      return "The Operator's tokens did not match the token key pinned when you first connected, so none were kept and nothing was sent: it may be trying to mark you. Tell other komrades who use this Operator.";
    case 'TOKENS_EXHAUSTED':
      return "You have used today's letters at this Operator (one token pays for each letter or post copy); the message above says when more come.";
    case 'TOKEN_SPENT':
    case 'TOKEN_INVALID':
      return 'Try again: komrade takes a fresh token for the letter.';
    case 'PREKEYS_MISSING':
      return `${at(context.name, 'They')} ${context.name === undefined ? 'have' : 'has'} not published prekeys yet, so no forward-secret session can start: ask them to open Komrade once (e.g. \`komrade inbox\`).`;
    case 'RATCHET_KEY_SET':
    case 'PREKEY_ID_USED':
    case 'PREKEYS_FULL':
      return undefined;
    case 'LETTER_SIZE_CLASS':
      return "This komrade and the Operator disagree on letter sizes; update komrade, or tell the Operator's administrator.";
  }
}

function operatorUnreachableHint(url: string | undefined): string {
  if (url === undefined) {
    return 'Is the Operator running at the address given to komrade init? Check the address and your connection.';
  }
  if (url.includes('.onion')) {
    return `Ask whoever runs the Operator at ${url} whether it is up. One that has just started can take a minute or two to be reachable through Tor: try again then.`;
  }
  return `Is the Operator running at ${url}? Start it (for development: npm run operator -- --insecure-no-tor), or check the port given to komrade init.`;
}
