/** The names a collective event mentions: whose registrations checking it needs. */
import {
  decodeCollectiveEvent,
  type CollectiveEvent,
  type SignedCollectiveEvent,
} from './event.js';

/**
 * The actor, and the founders, candidate or member to remove the event names. These are exactly
 * the names whose keys or key holders the rule engine may consult for this event, and the names
 * whose receipts a page of the log carries.
 */
export function namesIn(event: CollectiveEvent): string[] {
  switch (event.kind) {
    case 'genesis':
      return [event.actor, ...event.body.founders];
    case 'vouch':
    case 'admit':
      return [event.actor, event.body.candidate];
    case 'proposal':
      return event.body.action === 'remove' ? [event.actor, event.body.member] : [event.actor];
    case 'join-request':
    case 'leave':
    case 'vote':
    case 'enactment':
      return [event.actor];
  }
}

/**
 * {@link namesIn} for a signed event; none for one that does not decode (the rule engine refuses
 * it anyway).
 */
export function namesInSigned(signed: SignedCollectiveEvent): string[] {
  const decoded = decodeCollectiveEvent(signed.signed);
  return decoded.ok ? namesIn(decoded.value) : [];
}
