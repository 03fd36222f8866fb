/** Public keys no honest key generator makes: low-order X25519 and small-order Ed25519 points. */

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/**
 * Every X25519 point of low order (libsodium's list: 0, 1, two points of order 8, p − 1, p and
 * p + 1), plus two with the ignored top bit set. A shared secret with any of them is all zeros.
 */
export const LOW_ORDER_X25519: readonly Uint8Array[] = Object.freeze([
  hex('0000000000000000000000000000000000000000000000000000000000000000'),
  hex('0100000000000000000000000000000000000000000000000000000000000000'),
  hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'),
  hex('5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157'),
  hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  hex('0000000000000000000000000000000000000000000000000000000000000080'),
  hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880'),
]);

/** Ed25519 points of order 1, 2, 4 and 8 (encodings from "Taming the many EdDSAs", 2020). */
export const SMALL_ORDER_ED25519: readonly Uint8Array[] = Object.freeze([
  hex('0100000000000000000000000000000000000000000000000000000000000000'),
  hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  hex('0000000000000000000000000000000000000000000000000000000000000000'),
  hex('0000000000000000000000000000000000000000000000000000000000000080'),
  hex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'),
  hex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'),
  hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
  hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'),
]);
