/** Operator clients that answer as another one does, except for the operations a test bends. */
import type { CollectiveLogPage, OperatorClient } from '../../client/index.js';

/**
 * `inner` with the operations in `overrides` replaced; every other one is `inner`'s own, bound to
 * it (so a class with private fields still works).
 */
export function withOverrides(
  inner: OperatorClient,
  overrides: Partial<OperatorClient>,
): OperatorClient {
  return new Proxy(inner, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return Reflect.get(overrides, property) as unknown;
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** `inner` with every collective log page it answers passed through `edit`. */
export function withLogEdit(
  inner: OperatorClient,
  edit: (page: CollectiveLogPage) => CollectiveLogPage,
): OperatorClient {
  return withOverrides(inner, {
    collectiveLog: async (...args) => edit(await inner.collectiveLog(...args)),
  });
}
