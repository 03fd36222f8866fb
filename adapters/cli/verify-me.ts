/**
 * `komrade verify-me`: "is my key still mine?". Checks the Operator's record of the komrade's own
 * name (its proof in the log, through the client's auditor), then downloads the whole registry log
 * as a monitor does and checks that the only leaves for the name carry the keys made here.
 */
import type { Command } from 'commander';
import {
  RegistryMonitor,
  type LogEvidence,
  type MonitorProblem,
  type MonitorReport,
} from '../../client/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import type { Output } from './output.js';
import type { Session } from './session.js';

/** What verify-me needs from the program. */
export interface VerifyMeDeps {
  readonly output: Output;
  readonly withSession: <T>(command: Command, run: (session: Session) => Promise<T>) => Promise<T>;
  /** Where the command sets its exit code (1 on a problem). */
  readonly exit: { code: number };
}

/** The verdict, as `--json` prints it. */
export interface VerifyMeResult {
  readonly name: string;
  /** `ok`: nothing found; `problems`: the log shows a lie; `inconsistent`: the client stopped. */
  readonly verdict: 'ok' | 'problems' | 'inconsistent';
  /** The log's size and root as verified (absent when the client stopped before the scan). */
  readonly size?: number;
  readonly root?: string;
  readonly checkpoint?: string;
  /** The leaves for the name, in log order. */
  readonly leaves?: readonly number[];
  readonly problems: readonly MonitorProblem[];
  /** The client's LOG_INCONSISTENT evidence, or the monitor's. */
  readonly evidence?: unknown;
}

/** Adds `komrade verify-me`. */
export function addVerifyMeCommand(program: Command, deps: VerifyMeDeps): void {
  const { output } = deps;
  program
    .command('verify-me')
    .description(
      "is my key still mine? checks the Operator's registry log: only your keys for your name",
    )
    .addHelpText(
      'after',
      [
        '',
        'Checks the Operator’s signed record of your name and its proof in the registry log, then',
        'downloads the whole log (progress on stderr), rebuilds its tree, and checks that the root',
        'is the one the Operator signed, that it extends what was checked before, that every leaf',
        'is signed by the Operator, that no name has a second leaf other than its one allowed key',
        'update, and that every leaf for your name carries the keys made on this device.',
        '',
        'Exit code 0: nothing found. 1: a problem (listed), or your client holds evidence that the',
        'Operator’s log is inconsistent (printed): keep it, and warn your komrades elsewhere.',
      ].join('\n'),
    )
    .action(async (_options: unknown, command: Command) => {
      await deps.withSession(command, async (session) => {
        const result = await verifyMe(session, output);
        if (result.verdict !== 'ok') deps.exit.code = 1;
        output.result(result, () => renderVerdict(result));
      });
    });
}

async function verifyMe(session: Session, output: Output): Promise<VerifyMeResult> {
  const { client } = session;
  const me = session.watched();
  if (me === undefined) {
    throw new KomradeError('NOT_REGISTERED', 'You have not registered a name yet.');
  }
  const held = client.logEvidence();
  if (held !== undefined) return stopped(me.name, held);
  let answered;
  try {
    // The Operator's answer for the name, checked by the client's auditor (proof, consistency).
    answered = await client.lookup(me.name);
    await client.auditLog();
  } catch (error) {
    if (!isKomradeError(error, 'LOG_INCONSISTENT')) throw error;
    const evidence = client.logEvidence();
    return stopped(me.name, evidence ?? { message: error.message });
  }
  const info = await client.operatorInfo();
  const monitor = new RegistryMonitor({
    operator: session.operator,
    operatorSignKey: info.signKey,
  });
  output.progress('Downloading the registry log to check it…');
  const report = await monitor.scan([me], {
    onProgress: ({ scanned, total }) => {
      const line = `Checked ${scanned} of ${total} log entries…`;
      if (output.interactive) output.progressUpdate(line);
      else if (scanned === total) output.progress(line);
    },
  });
  const mine = client.whoami();
  const lookedUp =
    answered.signKey === mine.signKey && answered.boxKey === mine.boxKey
      ? []
      : [
          {
            kind: 'not-your-keys' as const,
            name: me.name,
            leaves: [],
            reason: `The Operator answers lookups of @${me.name} with keys that are not yours.`,
          },
        ];
  return verdictOf(me.name, { ...report, problems: [...lookedUp, ...report.problems] });
}

function stopped(name: string, evidence: LogEvidence | { message: string }): VerifyMeResult {
  return { name, verdict: 'inconsistent', problems: [], evidence };
}

function verdictOf(name: string, report: MonitorReport): VerifyMeResult {
  const leaves = report.problems.find((p) => p.name === name)?.leaves;
  return {
    name,
    verdict: report.problems.length === 0 ? 'ok' : 'problems',
    size: report.size,
    root: report.root,
    ...(report.checkpoint === undefined ? {} : { checkpoint: report.checkpoint }),
    ...(leaves === undefined ? {} : { leaves }),
    problems: report.problems,
    ...(report.evidence === undefined ? {} : { evidence: report.evidence }),
  };
}

/** The verdict for people. */
export function renderVerdict(result: VerifyMeResult): string {
  const who = `@${result.name}`;
  if (result.verdict === 'inconsistent') {
    return [
      `STOP: the Operator's registry log is inconsistent; your client stopped trusting it.`,
      'Evidence (public data: anyone with the Operator key can check it):',
      JSON.stringify(result.evidence, null, 2),
      'Keep this evidence and warn your komrades through another channel.',
    ].join('\n');
  }
  const size = result.size ?? 0;
  const entries = `${size} ${size === 1 ? 'entry' : 'entries'}`;
  const head = `Checkpoint: ${entries}, root ${result.root ?? ''}`;
  if (result.verdict === 'ok') {
    return [
      `Your keys are the only leaves for ${who} in the Operator's registry log of ${entries}.`,
      head,
      'No problems found.',
    ].join('\n');
  }
  const mine = result.problems.filter((p) => p.name === result.name);
  return [
    mine.length > 0
      ? `PROBLEM: the Operator's registry log does not hold only your keys for ${who}.`
      : `PROBLEM: the Operator's registry log shows a lie (your own leaves for ${who} are fine).`,
    head,
    ...result.problems.map((p) => `  - ${describeProblem(p)}`),
    ...(result.evidence === undefined
      ? []
      : ['Evidence:', JSON.stringify(result.evidence, null, 2)]),
    'Warn your komrades through another channel; `--json` gives the details to pass on.',
  ].join('\n');
}

/** One problem in a line: what, for which name, at which leaves, and why. */
export function describeProblem(problem: MonitorProblem): string {
  const where =
    problem.leaves.length === 0
      ? ''
      : ` (${problem.leaves.length === 1 ? 'leaf' : 'leaves'} ${problem.leaves.join(', ')})`;
  const who = problem.name === undefined ? '' : ` @${problem.name}`;
  return `${problem.kind}${who}${where}: ${problem.reason}`;
}
