/** The Merkle micro-benchmark runs end to end on a small tree and reports sane figures. */
import { describe, expect, it } from 'vitest';
import { benchMerkle } from '../../../common/transparency/index.js';

describe('benchMerkle', () => {
  it('builds a tree, proves and verifies, and reports proof sizes', () => {
    const result = benchMerkle({ leaves: 5000, samples: 50 });
    expect(result.leaves).toBe(5000);
    // ⌈log2 5000⌉ = 13 hashes at most in an audit path; a consistency proof may take one more.
    expect(result.inclusion.maxHashes).toBeLessThanOrEqual(13);
    expect(result.inclusion.maxBytes).toBe(result.inclusion.maxHashes * 32);
    expect(result.consistency.maxHashes).toBeLessThanOrEqual(14);
    expect(result.inclusion.meanHashes).toBeGreaterThan(10);
    expect(result.treeBytes).toBeGreaterThanOrEqual(5000 * 32 * 2 - 32 * 13);
    expect(result.inclusion.buildMicros).toBeGreaterThan(0);
    expect(result.consistency.verifyMicros).toBeGreaterThan(0);
  });
});
