/**
 * Recomputes the registration vectors of protocol-v1.json (`receipt`, `pow`) from fixed keys. The
 * vectors test compares its answer to the file byte for byte; after a deliberate protocol change,
 * print `registrationVectors(...)` from a scratch test and paste it into the file.
 */
import { blake2b, type IdentityKeys } from '../../common/crypto/index.js';
import {
  POW_NONCE_BYTES,
  checkProofOfWork,
  claimBytesForPow,
  signReceipt,
  type KeyHolder,
} from '../../common/wire/index.js';

/** What the registration vectors are made from. */
export interface RegistrationVectorInputs {
  readonly alice: IdentityKeys;
  readonly operator: IdentityKeys;
  readonly receipt: { readonly keyHolder: KeyHolder; readonly registeredAt: number };
  readonly pow: { readonly keyHolder: KeyHolder; readonly bits: number };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The first nonce, counting up from zero (little-endian), that meets `bits`: deterministic. */
function firstNonce(claimBytes: Uint8Array, bits: number): Uint8Array {
  const nonce = new Uint8Array(POW_NONCE_BYTES);
  const view = new DataView(nonce.buffer);
  for (let n = 0n; ; n++) {
    view.setBigUint64(0, n, true);
    if (checkProofOfWork(claimBytes, nonce, bits)) return nonce;
  }
}

/** The `receipt` and `pow` entries of the vectors file, as the file holds them. */
export function registrationVectors(inputs: RegistrationVectorInputs) {
  const { alice, operator } = inputs;
  const receipt = signReceipt(
    {
      name: 'alice',
      signKey: alice.signPublic,
      boxKey: alice.boxPublic,
      keyHolder: inputs.receipt.keyHolder,
      ratchetKey: null,
      registeredAt: inputs.receipt.registeredAt,
    },
    operator.signSecret,
  );
  const claimBytes = claimBytesForPow({
    name: 'alice',
    signKey: alice.signPublic,
    boxKey: alice.boxPublic,
    keyHolder: inputs.pow.keyHolder,
    ratchetKey: null,
  });
  const nonce = firstNonce(claimBytes, inputs.pow.bits);
  return {
    receipt: {
      name: 'alice',
      keyHolder: inputs.receipt.keyHolder,
      registeredAt: inputs.receipt.registeredAt,
      sig: hex(receipt.sig),
    },
    pow: {
      keyHolder: inputs.pow.keyHolder,
      claimBytes: hex(claimBytes),
      bits: inputs.pow.bits,
      nonce: hex(nonce),
      hash: hex(blake2b(new Uint8Array([...claimBytes, ...nonce]), 32)),
    },
  };
}
