/**
 * Courtesy notices: what the engine tells chat users on its own initiative (a join request, a
 * vouch, a proposal, an enactment, an admission, a new follower, a send given up on). A notice
 * never fails the command beside which it is sent, and is not retried.
 */
import type { CollectiveView, ProposalView } from '../../client/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { ChatNotice, ChatSurface } from '../chat-surface/chat-surface.js';
import { codeOf } from './job-failures.js';
import type { Session, Sessions } from './sessions.js';

/** What {@link Notices} needs. */
export interface NoticesDeps {
  readonly sessions: Sessions;
  readonly surface: ChatSurface;
  readonly logger: Logger;
}

/** Sends notices; {@link Notices.close} waits for those still running. */
export class Notices {
  readonly #deps: NoticesDeps;
  readonly #running = new Set<Promise<void>>();

  constructor(deps: NoticesDeps) {
    this.#deps = deps;
  }

  /** Runs `work` beside a command: its failure is logged, never the command's. */
  courtesy(work: () => Promise<void>): void {
    const running = work()
      .catch((error: unknown) => {
        this.#warn(error);
      })
      .finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Tells one identity's chat; a failure is logged. @returns whether the chat took it */
  async tell(session: Session, notice: ChatNotice): Promise<boolean> {
    try {
      await this.#deps.surface.notify(session.held.chat, notice);
      return true;
    } catch (error) {
      this.#warn(error);
      return false;
    }
  }

  /** Tells each of `names` held by this adapter (except identity `except`) `notice`. */
  async tellHeld(names: readonly string[], except: string, notice: ChatNotice): Promise<void> {
    for (const name of names) {
      const session = this.#deps.sessions.named(name);
      if (session === undefined || session.held.id === except) continue;
      await this.tell(session, notice);
    }
  }

  /** Tells the members of before an enactment (a removed one included) what passed. */
  async tellEnacted(except: string, before: CollectiveView, proposal: ProposalView): Promise<void> {
    await this.tellHeld(
      before.members.map((m) => m.name),
      except,
      {
        kind: 'collective-enacted',
        collective: before.name,
        proposal: proposal.id,
        change: proposal.change,
        before: before.constitution,
      },
    );
  }

  /**
   * Tells the chat once of each collective that admitted this identity, read from the verified
   * log, so a candidate hears it whoever vouched and from whichever client (docs/collectives.md).
   */
  async tellAdmissions(session: Session): Promise<void> {
    for (const notice of await session.client.collectiveAdmissions()) {
      const told = await this.tell(session, {
        kind: 'collective-vouched',
        collective: notice.collective,
        voucher: notice.admittedBy,
        vouches: notice.vouchers.length,
        quorum: notice.quorum,
        admitted: true,
      });
      // Not marked as told: the next fetch tries again.
      if (told) session.client.admissionTold(notice);
    }
  }

  /** Waits for the notices still running. */
  async close(): Promise<void> {
    await Promise.all(this.#running);
  }

  #warn(error: unknown): void {
    this.#deps.logger.warn('bridge.notify_failed', { code: codeOf(error) });
  }
}
