/**
 * Model-based property test: random sequences of mm operations on every kernel variant, with all
 * invariants in strict mode (a breach throws), checked after every operation against the rules
 * that hold in every version. fast-check prints the seed and the shrunk sequence on failure.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { listVariants } from '../src/kernel/variants';
import { Op, run } from './helpers/model-run';

for (const variant of listVariants()) {
  test(`model-based (${variant}): random mm operation sequences keep every invariant`, () => {
    fc.assert(fc.property(fc.array(Op, { minLength: 10, maxLength: 60, size: 'max' }), (ops) => run(variant, ops)), { numRuns: 100 });
  });
}
