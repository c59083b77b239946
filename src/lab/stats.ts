/**
 * Summary statistics over seeds: mean, sample standard deviation and a two-sided 95% Student-t
 * confidence interval. The t quantiles t(0.975, df) for df = 1..30 are the standard table values
 * (e.g. NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2); above 30 the
 * Cornish-Fisher expansion of the t quantile around the normal quantile z = 1.959964 is used
 * (Abramowitz & Stegun 26.7.5), accurate to < 1e-3 there.
 */
const T975 = [
  NaN, 12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788,
  2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.093, 2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595,
  2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/** Two-sided 95% quantile of Student's t with `df` degrees of freedom. */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  const d = Math.floor(df);
  if (d <= 30) return T975[d];
  const z = 1.959963985;
  const z3 = z ** 3, z5 = z ** 5, z7 = z ** 7;
  return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d ** 3);
}

export interface Summary {
  n: number;
  mean: number;
  sd: number;
  /** half-width of the 95% confidence interval of the mean (0 when n < 2) */
  ci95: number;
  lo: number;
  hi: number;
  min: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) return { n: 0, mean: NaN, sd: NaN, ci95: NaN, lo: NaN, hi: NaN, min: NaN, max: NaN };
  let sum = 0, min = Infinity, max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const ci95 = n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : 0;
  return { n, mean, sd, ci95, lo: mean - ci95, hi: mean + ci95, min, max };
}
