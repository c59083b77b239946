/**
 * The one PRNG of ptlab's workloads: xoshiro128** 1.1 (D. Blackman and S. Vigna, "Scrambled
 * linear pseudorandom number generators", ACM TOMS 47(4), 2021; reference C code at
 * https://prng.di.unimi.it/xoshiro128starstar.c). It needs only 32-bit integer operations
 * (`Math.imul`, shifts), so the stream is bit-identical on every machine and Node version —
 * the "same spec, same numbers" rule of DESIGN.md rests on this.
 *
 * Seeding: the four state words come from SplitMix32 (golden-ratio increment 0x9e3779b9 fed
 * through the MurmurHash3 `fmix32` finaliser), as Vigna recommends seeding xoshiro from a
 * different generator; an all-zero state is impossible because fmix32 is a bijection and the
 * four inputs differ.
 *
 * Nothing here allocates per draw: the state lives in four number fields.
 */

/** MurmurHash3 fmix32 finaliser: a bijective avalanche on 32-bit words. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Derives an independent 32-bit stream seed from a run seed and any number of small integers
 * (step index, thread, purpose). Used so that, e.g., thread 3 of step 5 gets its own stream, and
 * changing the write ratio does not change the page sequence (separate purpose).
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  // Seeds up to 2^53 are folded in two 32-bit halves so large seeds stay distinct.
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ Math.floor(seed / 4294967296));
  for (const p of parts) h = fmix32((h + Math.imul(p + 1, 0x9e3779b9)) >>> 0);
  return h;
}

/**
 * The seed a simulator should hand to `makeAccessStream` for step `stepIndex` of a run: mixes the
 * run's seed and repeat number so repeats of one seed differ while staying reproducible.
 */
export function streamSeed(runSeed: number, repeat: number, stepIndex: number): number {
  return deriveSeed(runSeed, repeat, stepIndex);
}

export class Xoshiro128ss {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** Re-seeds in place via SplitMix32 (no allocation). */
  seed(seed: number): void {
    let x = seed >>> 0;
    x = (x + 0x9e3779b9) >>> 0;
    this.s0 = fmix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s1 = fmix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s2 = fmix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s3 = fmix32(x);
  }

  /** Sets the raw state (for the reference test vectors). */
  setState(a: number, b: number, c: number, d: number): void {
    this.s0 = a >>> 0;
    this.s1 = b >>> 0;
    this.s2 = c >>> 0;
    this.s3 = d >>> 0;
  }

  /** Next 32-bit output as an unsigned integer in [0, 2^32). */
  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform double in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /**
   * Uniform integer in [0, n) for 1 <= n <= 2^32 by multiply-shift (Lemire's method without the
   * rejection step); the bias is below n / 2^32, far under any effect the model can show.
   */
  nextInt(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
