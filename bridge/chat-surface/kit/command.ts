/**
 * A chat command, defined once for every surface: its arguments (a schema each surface parses in
 * its own way: words after `/cmd` on Telegram, options of a slash command on Discord) and what it
 * does, returning a {@link View} that the catalogue turns into text.
 */
import type { KomradeError } from '../../../common/errors/index.js';
import type { BridgeEngine, IdentitySummary } from '../../engine/bridge-engine.js';
import type { EventOptions } from '../../engine/handled-events.js';
import type { View } from './views.js';

/** What an argument holds, and so how each surface asks for it and checks it. */
export type ArgKind =
  /** An existing komrade's name: `@dave` or `dave`, folded (`parseName`). */
  | 'name'
  /**
   * A collective's name (`parseName`). On a surface with channel links, optional: a channel
   * linked to a collective stands in for it.
   */
  | 'collective'
  /** A name to claim (a komrade or a collective): checked with `parseNewName` before any work. */
  | 'new-name'
  /** A whole number within `min`..`max`; `#7` is read as 7 on word surfaces. */
  | 'integer'
  /** One of `choices`, case-insensitive; the first letter of a choice stands for it. */
  | 'choice'
  /** A number of days, `3d` on word surfaces; optional ones may be left out. */
  | 'days'
  /** Free text: on word surfaces, the rest of the line. Must not be blank when required. */
  | 'text';

/** One argument of a command. */
export interface ArgSpec {
  /** The name a surface with named options shows (`candidate:`), and the key in {@link ArgValues}. */
  readonly name: string;
  readonly kind: ArgKind;
  /** Shown next to the option, and in help. */
  readonly description: string;
  /** What a usage line shows in its place on word surfaces: `NAME`, `@candidate`, `text`. */
  readonly placeholder: string;
  /** May be left out. */
  readonly optional?: boolean;
  /** Bounds of `integer` and `days`. */
  readonly min?: number;
  readonly max?: number;
  /** The values of a `choice`. */
  readonly choices?: readonly string[];
  /** The longest a surface should accept (a `text` or a name as typed). */
  readonly maxLength?: number;
  /**
   * A `collective` a linked channel never stands in for: the user must name it (leaving, or
   * linking a channel).
   */
  readonly explicit?: boolean;
}

/** Checked argument values by argument name: names folded, numbers as numbers. */
export type ArgValues = Readonly<Record<string, string | number>>;

/** Who runs a command and where, as its surface knows them. */
export interface CommandCaller {
  readonly engine: BridgeEngine;
  /** The engine's key for the user (`telegram:42`): kept in the adapter's store only. */
  readonly user: string;
  /** Where the engine reaches the user on its own initiative (a chat id). */
  readonly chat: string;
  /** The platform event this command answers: a replay is acted on once. */
  readonly event: EventOptions;
  /** Proof-of-work progress, for commands that do one (see `powProgress`). */
  readonly onProgress?: (progress: { readonly tried: number; readonly expected: number }) => void;
}

/** What a command's action gets: its caller, and the identity its `needs` asked for. */
export interface CommandContext extends CommandCaller {
  /** The caller's identity (present unless `needs` is `nothing`). */
  readonly me: IdentitySummary;
  /** The caller's registered name (present when `needs` is `registered`). */
  readonly myName: string;
}

/** A command: its schema and its action. */
export interface CommandSpec {
  /** The kit's name, unique across the kit: `vouch`, `propose-quorum`. */
  readonly name: string;
  /** How users type it, where that differs from `name`: `propose` for `propose-quorum`. */
  readonly typed?: string;
  /**
   * A keyword that picks this command among those typed alike (`quorum` in
   * `/propose portland quorum 2`; a subcommand on Discord), and after how many arguments it
   * comes on word surfaces.
   */
  readonly keyword?: { readonly word: string; readonly after: number };
  /** One line for help and command menus. */
  readonly summary: string;
  /** Example values by argument name, shown after the usage line (`e.g. /vouch portland @dave`). */
  readonly example?: Readonly<Record<string, string>>;
  readonly args: readonly ArgSpec[];
  /**
   * What the caller must have first: nothing, an identity, or a registered one. Unmet, the
   * command answers with what to do (a view), never an error.
   */
  readonly needs: 'nothing' | 'identity' | 'registered';
  /** Runs a proof of work: surfaces show progress and run at most one per user at a time. */
  readonly proofOfWork?: boolean;
  /**
   * Does it. Expected outcomes (nothing waiting, already done) are views; failures throw a
   * `KomradeError`, which {@link errorView} turns into one.
   */
  readonly run: (context: CommandContext, args: ArgValues) => Promise<View> | View;
}

/** A checked string argument (the parser guarantees required ones). */
export function stringArg(args: ArgValues, name: string): string {
  const value = args[name];
  return typeof value === 'string' ? value : '';
}

/** An optional string argument. */
export function optionalStringArg(args: ArgValues, name: string): string | undefined {
  const value = args[name];
  return typeof value === 'string' ? value : undefined;
}

/** A checked number argument. */
export function numberArg(args: ArgValues, name: string): number | undefined {
  const value = args[name];
  return typeof value === 'number' ? value : undefined;
}

/** The surface name users type for `spec`. */
export const typedName = (spec: CommandSpec): string => spec.typed ?? spec.name;

/**
 * Runs `spec` for `caller` with checked `args`: answers an unmet `needs` with what to do, then
 * runs the action.
 * @throws whatever the action throws (a `KomradeError` for expected failures; show
 * {@link errorView} of it)
 */
export async function runCommand(
  spec: CommandSpec,
  caller: CommandCaller,
  args: ArgValues,
): Promise<View> {
  const found = caller.engine.identityOf(caller.user);
  if (spec.needs !== 'nothing') {
    if (found === undefined) return { kind: 'no-identity' };
    if (spec.needs === 'registered' && found.name === null) return { kind: 'not-registered' };
  }
  const context: CommandContext = {
    ...caller,
    me: found ?? { id: '', name: null },
    myName: found?.name ?? '',
  };
  return await spec.run(context, args);
}

/** A failure as a view: the catalogue words what to do about it. */
export const errorView = (error: unknown): View => ({ kind: 'error', error });

/** The reason a parse failed: the argument, and a problem with its value if there was one. */
export interface ArgProblem {
  readonly arg?: ArgSpec;
  readonly error?: KomradeError;
}
