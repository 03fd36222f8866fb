/** The CLI's line for a replaced session (see `SessionReset`), as Signal tells a safety-number change. */
import type { SessionReset } from '../../client/index.js';

/** One line telling the user a session with a komrade was reset. */
export function sessionResetLine(reset: SessionReset): string {
  return reset.lost
    ? `A letter from @${reset.name} could not be opened here, so your session with them was reset. Ask them to send it again.`
    : `@${reset.name}'s session was reset (they restored a backup or lost it).`;
}
