/** Asserts that an event is refused with a given rule, both incrementally and by a full fold. */
import { expect } from 'vitest';
import {
  foldLog,
  type CollectiveRule,
  type CollectiveRuleError,
  type SignedCollectiveEvent,
} from '../../../common/collectives/index.js';
import type { Result } from '../../../common/errors/index.js';
import type { CollectiveWriter } from '../../support/collective-writer.js';

/** Asserts `result` is a `COLLECTIVE_INVALID` for event `index` breaking `rule`. */
export function expectRule(
  result: Result<unknown, CollectiveRuleError>,
  index: number,
  rule: CollectiveRule,
): void {
  expect(
    result.ok ? 'accepted' : [result.error.code, result.error.index, result.error.rule],
  ).toEqual(['COLLECTIVE_INVALID', index, rule]);
}

/**
 * Asserts that `bad`, as the next event of `w`'s log, is refused for `rule` by `canAppend` (which
 * leaves the log as it was) and by `foldLog` on the whole log, both naming its index.
 */
export function expectRejected(
  w: CollectiveWriter,
  bad: SignedCollectiveEvent,
  rule: CollectiveRule,
): void {
  const index = w.events.length;
  const before = w.log.state();
  expectRule(w.log.canAppend(bad), index, rule);
  expect(w.log.state()).toEqual(before);
  expectRule(foldLog([...w.events, bad], w.registry), index, rule);
}
