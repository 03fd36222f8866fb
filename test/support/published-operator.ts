/**
 * An Operator on loopback (`--insecure-no-tor`) published as an onion service through a private Tor
 * network's service tor, with a client tor to reach it: the setup of the client-side Tor tests.
 */
import type { TorProcess } from '../../tor/index.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { startPrivateTorNetwork, type PrivateTorNetwork } from './tor-network.js';

/** What {@link startPublishedOperator} started; stop it with `network.stop()` and `operator.cleanup()`. */
export interface PublishedOperator {
  readonly network: PrivateTorNetwork;
  readonly operator: OperatorProcess;
  /** A tor with a SOCKS port on the same network. */
  readonly clientTor: TorProcess;
  /** `http://<56 characters>.onion`, published and reachable through `clientTor`. */
  readonly onionUrl: string;
}

/** Boots the network and the Operator side by side, then publishes the Operator's port. */
export async function startPublishedOperator(): Promise<PublishedOperator> {
  const [network, operator] = await Promise.all([
    startPrivateTorNetwork(),
    startOperatorProcess({ powBits: 8 }),
  ]);
  try {
    const [service, clientTor] = await Promise.all([
      network.startServiceTor(),
      network.startClientTor(),
    ]);
    const onion = await service.control.addOnion({
      ports: [{ virtualPort: 80, targetPort: Number(new URL(operator.url).port) }],
      waitForPublication: { timeoutMs: 60_000 },
    });
    return { network, operator, clientTor, onionUrl: `http://${onion.hostname}` };
  } catch (error) {
    await Promise.all([network.stop(), operator.cleanup()]);
    throw error;
  }
}
