/**
 * The `OperatorClient` contract, run against the in-memory fake the unit tests use and against
 * `HttpOperatorClient` over real HTTP to a real Operator (in this process, on a temporary store).
 */
import { Agent } from 'undici';
import { HttpOperatorClient } from '../../client/index.js';
import { FakeOperator } from '../support/fake-operator.js';
import { startTestOperator } from '../support/operator-fixture.js';
import { operatorClientContract } from './operator-client-contract.js';

operatorClientContract('FakeOperator', () => {
  const fake = new FakeOperator(Date.now);
  // The fake's small page exercises the engine's `more` loop; here it pages like the real one.
  fake.fetchLimit = 100;
  return Promise.resolve({ client: fake, close: () => Promise.resolve() });
});

operatorClientContract('HttpOperatorClient and a real Operator', async () => {
  const operator = await startTestOperator({ powBits: 4 });
  const dispatcher = new Agent();
  return {
    client: new HttpOperatorClient({ baseUrl: operator.url, dispatcher, now: Date.now }),
    close: async () => {
      await dispatcher.close();
      await operator.close();
    },
  };
});
