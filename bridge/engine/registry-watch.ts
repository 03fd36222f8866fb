/**
 * The bot as a monitor of the registry log: one {@link RegistryMonitor} per bot process, over every
 * identity it holds, run at start and then on an interval, and on demand for `/verifyme`. Problems
 * are logged without names or keys (leaf indexes and kinds only); users asking see their own.
 */
import { isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { NoteSigner } from '../../common/transparency/index.js';
import {
  RegistryMonitor,
  Witness,
  ratchetKeyOf,
  type MonitorProblem,
  type MonitorReport,
  type OperatorClient,
  type WatchedIdentity,
} from '../../client/index.js';
import type { BridgeStore } from '../identity-vault/bridge-store.js';
import type { Session, Sessions } from './sessions.js';

/** The isolation key (own Tor circuit) of the monitor's downloads: no identity's own. */
const MONITOR_ISOLATION = 'registry-monitor';

/** What `/verifyme` answers for one identity. */
export interface IdentityVerdict {
  readonly name: string;
  /** `ok`: nothing found; `problems`: the log shows a lie; `inconsistent`: the client stopped. */
  readonly verdict: 'ok' | 'problems' | 'inconsistent';
  /** The log's size as verified (0 when the client stopped first). */
  readonly size: number;
  /** The problems about this identity's name. */
  readonly mine: readonly MonitorProblem[];
  /** How many problems about other names (or the whole log). */
  readonly others: number;
}

/** What the watch is built from. */
export interface RegistryWatchDeps {
  readonly store: BridgeStore;
  readonly sessions: Sessions;
  readonly operatorFor: (isolationKey: string) => OperatorClient;
  readonly logger: Logger;
  /** How often the whole log is checked; 0 = only at start and on demand. */
  readonly everyMs: number;
  /**
   * The bot's witness key: each checkpoint a scan verified is cosigned with it, once it is
   * proven consistent with the last one cosigned. Absent: the bot does not witness.
   */
  readonly witness?: NoteSigner | undefined;
}

export class RegistryWatch {
  readonly #deps: RegistryWatchDeps;
  #monitor: RegistryMonitor | undefined;
  #witness: Witness | undefined;
  #cosigned: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Problems already logged (a problem stays in every later report): logged once each. */
  readonly #logged = new Set<string>();

  constructor(deps: RegistryWatchDeps) {
    this.#deps = deps;
  }

  /** Checks once now (in the background), then every `everyMs`. */
  start(): void {
    const tick = () => {
      void this.scan().catch((error: unknown) => {
        this.#deps.logger.warn('registry.monitor_failed', {
          code: isKomradeError(error) ? error.code : 'INTERNAL',
        });
      });
    };
    tick();
    if (this.#deps.everyMs > 0) {
      this.#timer = setInterval(tick, this.#deps.everyMs);
      this.#timer.unref();
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  /**
   * Scans the log over every registered identity held here and logs new problems.
   * @returns the report, or `undefined` when nothing is held yet (no pinned key to check with)
   */
  async scan(): Promise<MonitorReport | undefined> {
    const sessions = this.#registered();
    const [first] = sessions;
    if (first === undefined || this.#closed) return undefined;
    const monitor = await this.#monitorFor(first);
    const report = await monitor.scan(sessions.map(watchedOf).filter((w) => w !== undefined));
    this.#log(report);
    await this.#cosign(report);
    return report;
  }

  /** The newest checkpoint note this bot cosigned as a witness (with its signature line), if any. */
  cosigned(): string | undefined {
    return this.#cosigned;
  }

  /**
   * Cosigns the checkpoint a clean scan verified, after the Operator's proof that the last one
   * cosigned is a prefix of it (the witness refuses anything else: a fork is never cosigned).
   */
  async #cosign(report: MonitorReport): Promise<void> {
    const signer = this.#deps.witness;
    const note = report.checkpoint;
    if (signer === undefined || note === undefined || report.evidence !== undefined) return;
    const [first] = this.#registered();
    if (first === undefined) return;
    const info = await first.client.operatorInfo();
    this.#witness ??= new Witness({ operatorSignKey: info.signKey, signer });
    const from = this.#witness.size;
    const proof =
      from === 0 || from >= report.size
        ? []
        : await this.#deps.operatorFor(MONITOR_ISOLATION).logConsistency(from, report.size);
    try {
      this.#cosigned = this.#witness.cosign(note, proof);
      this.#deps.logger.info('registry.cosigned', { size: report.size });
    } catch (error) {
      this.#deps.logger.warn('registry.cosign_refused', {
        code: isKomradeError(error) ? error.code : 'INTERNAL',
        size: report.size,
      });
    }
  }

  /**
   * "Is my key still mine?" for one identity: its client checks the Operator's record of its name
   * and the log's consistency, then the monitor checks the whole log.
   */
  async verify(session: Session): Promise<IdentityVerdict> {
    const me = watchedOf(session);
    const name = me?.name ?? '';
    const stopped: IdentityVerdict = {
      name,
      verdict: 'inconsistent',
      size: 0,
      mine: [],
      others: 0,
    };
    if (session.client.logEvidence() !== undefined) return stopped;
    let answered;
    try {
      answered = await session.client.lookup(name);
      await session.client.auditLog();
    } catch (error) {
      if (isKomradeError(error, 'LOG_INCONSISTENT')) return stopped;
      throw error;
    }
    const monitor = await this.#monitorFor(session);
    const others = this.#registered().filter((s) => s.held.id !== session.held.id);
    const watched = [session, ...others].map(watchedOf).filter((w) => w !== undefined);
    const report = await monitor.scan(watched);
    this.#log(report);
    await this.#cosign(report);
    if (report.evidence !== undefined) return { ...stopped, size: report.size };
    const whoami = session.client.whoami();
    const lookedUp: MonitorProblem[] =
      answered.signKey === whoami.signKey && answered.boxKey === whoami.boxKey
        ? []
        : [
            {
              kind: 'not-your-keys',
              name,
              leaves: [],
              reason: `The Operator answers lookups of @${name} with keys that are not yours.`,
            },
          ];
    const problems = [...lookedUp, ...report.problems];
    const mine = problems.filter((p) => p.name === name);
    return {
      name,
      verdict: problems.length === 0 ? 'ok' : 'problems',
      size: report.size,
      mine,
      others: problems.length - mine.length,
    };
  }

  async #monitorFor(session: Session): Promise<RegistryMonitor> {
    if (this.#monitor !== undefined) return this.#monitor;
    // The key every identity here pinned (one Operator per bot): checked by the client.
    const info = await session.client.operatorInfo();
    this.#monitor ??= new RegistryMonitor({
      operator: this.#deps.operatorFor(MONITOR_ISOLATION),
      operatorSignKey: info.signKey,
    });
    return this.#monitor;
  }

  #registered(): Session[] {
    return this.#deps.store
      .registeredIdentities()
      .map((id) => this.#deps.sessions.get(id))
      .filter((s) => s !== undefined);
  }

  /** Logs the problems not logged before: kinds and leaf indexes, never names or keys. */
  #log(report: MonitorReport): void {
    for (const problem of report.problems) {
      const key = `${problem.kind}:${problem.name ?? ''}:${problem.leaves.join(',')}`;
      if (this.#logged.has(key)) continue;
      this.#logged.add(key);
      this.#deps.logger.warn('registry.problem', {
        kind: problem.kind,
        leaves: problem.leaves.join(','),
        size: report.size,
      });
    }
    this.#deps.logger.info('registry.scanned', {
      size: report.size,
      problems: report.problems.length,
    });
  }
}

/** The identity as the monitor watches it: the keys held here, the name and label it registered. */
function watchedOf(session: Session): WatchedIdentity | undefined {
  const own = session.local.ownReceipt();
  if (own === undefined) return undefined;
  const { keys } = session.held;
  return {
    name: own.name,
    signKey: keys.signPublic,
    boxKey: keys.boxPublic,
    ratchetKey: ratchetKeyOf(keys),
    keyHolder: own.keyHolder,
    ...(own.proof === undefined ? {} : { leafIndex: own.proof.index }),
  };
}
