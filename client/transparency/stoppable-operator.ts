/** An `OperatorClient` that refuses every call once the registry log was found inconsistent. */
import type { OperatorClient } from '../operator-client/operator-client.js';

/**
 * Wraps `operator` so each call first runs `check` (e.g. `RegistryAuditor.assertConsistent`): a
 * client stopped by evidence talks to the Operator no more, whichever part of it asks. What
 * `check` throws comes back as the call's rejection.
 */
export function stoppableOperator(operator: OperatorClient, check: () => void): OperatorClient {
  return new Proxy(operator, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        try {
          check();
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
