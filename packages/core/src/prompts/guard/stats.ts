/**
 * The statistics the rollback guard decides with: the normal and Student t distributions, the
 * regularized incomplete beta function behind t and the binomial tail, and the three one-sided
 * tests the rules use. Pure functions, no dependency: they run on a timer, never per request.
 */

/**
 * Standard normal CDF Φ(x), to double precision: Hart's algorithm 5666 (1968) as given by
 * G. West, "Better approximations to cumulative normal functions" (2005).
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  let tail: number;
  if (z > 37) {
    tail = 0;
  } else {
    const e = Math.exp(-z * z / 2);
    if (z < 7.07106781186547) {
      let n = 3.52624965998911e-2 * z + 0.700383064443688;
      n = n * z + 6.37396220353165;
      n = n * z + 33.912866078383;
      n = n * z + 112.079291497871;
      n = n * z + 221.213596169931;
      n = n * z + 220.206867912376;
      let d = 8.83883476483184e-2 * z + 1.75566716318264;
      d = d * z + 16.064177579207;
      d = d * z + 86.7807322029461;
      d = d * z + 296.564248779674;
      d = d * z + 637.333633378831;
      d = d * z + 793.826512519948;
      d = d * z + 440.413735824752;
      tail = e * n / d;
    } else {
      const d = z + 1 / (z + 2 / (z + 3 / (z + 4 / (z + 0.65))));
      tail = e / d / 2.506628274631;
    }
  }
  return x > 0 ? 1 - tail : tail;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const y = x - 1;
  let a = c[0] as number;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const nonZero = (v: number): number => (Math.abs(v) < tiny ? tiny : v);
  let c = 1;
  let d = 1 / nonZero(1 - (a + b) * x / (a + 1));
  let h = d;
  // One Lentz step for the coefficient `aa`: returns the factor h is multiplied by.
  const step = (aa: number): number => {
    d = 1 / nonZero(1 + aa * d);
    c = nonZero(1 + aa / c);
    return d * c;
  };
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    h *= step(m * (b - m) * x / ((a + m2 - 1) * (a + m2)));
    const delta = step(-(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)));
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), a, b > 0, 0 ≤ x ≤ 1. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast on the side of the mean; use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return front * betaContinuedFraction(a, b, x) / a;
  return 1 - front * betaContinuedFraction(b, a, 1 - x) / b;
}

/** Student t CDF with `df` (> 0, not necessarily whole: Welch's) degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  // Past ~1e7 degrees of freedom t is the normal to double precision, and the beta form loses digits.
  if (df > 1e7) return normalCdf(t);
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** P(X ≥ k) for X ~ Binomial(n, p): 1 for k ≤ 0, 0 for k > n. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return incompleteBeta(p, k, n - k + 1);
}

/** Count, mean and sample variance (n − 1) of a sample. */
export interface Moments {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

/** The outcome of a one-sided test: its statistic, its p-value, and Welch's degrees of freedom when it has them. */
export interface TestResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly df?: number;
}

/**
 * One-sided Welch test that the candidate's mean is *below* `ratio` × the baseline's:
 * H0: μc ≥ ratio·μb, H1: μc < ratio·μb. Statistic `(x̄c − ratio·x̄b) / √(s²c/nc + ratio²·s²b/nb)`
 * on Welch–Satterthwaite degrees of freedom (the baseline's variance scaled by ratio²). A small
 * p-value means the candidate is worse than the margin allows beyond reasonable noise.
 * `direction: 'above'` tests the other side (H1: μc > ratio·μb), for costs.
 */
export function welchRatioTest(candidate: Moments, baseline: Moments, ratio: number, direction: 'below' | 'above' = 'below'): TestResult {
  const vc = candidate.variance / candidate.n;
  const vb = ratio * ratio * baseline.variance / baseline.n;
  const se2 = vc + vb;
  const diff = candidate.mean - ratio * baseline.mean;
  if (!(se2 > 0)) {
    // Both samples constant: the difference is certain.
    const statistic = diff === 0 ? 0 : diff < 0 ? -Infinity : Infinity;
    const below = diff === 0 ? 0.5 : diff < 0 ? 0 : 1;
    return { statistic, pValue: direction === 'below' ? below : 1 - below };
  }
  const statistic = diff / Math.sqrt(se2);
  const denominator = (candidate.n > 1 ? vc * vc / (candidate.n - 1) : 0) + (baseline.n > 1 ? vb * vb / (baseline.n - 1) : 0);
  const df = denominator > 0 ? se2 * se2 / denominator : Infinity;
  const below = df === Infinity ? normalCdf(statistic) : studentTCdf(statistic, df);
  return { statistic, pValue: direction === 'below' ? below : 1 - below, df };
}

/**
 * One-sided two-proportion z test (unpooled, Wald) that the candidate's proportion is below
 * `ratio` × the baseline's: H0: pc ≥ ratio·pb, H1: pc < ratio·pb. With `direction: 'above'` and
 * `ratio` 1 plus a `margin`, it tests H1: pc > pb + margin (error rates).
 */
export function twoProportionTest(
  candidate: { successes: number; n: number }, baseline: { successes: number; n: number },
  options: { ratio?: number; margin?: number; direction?: 'below' | 'above' } = {},
): TestResult {
  const ratio = options.ratio ?? 1;
  const margin = options.margin ?? 0;
  const pc = candidate.successes / candidate.n;
  const pb = baseline.successes / baseline.n;
  const diff = pc - ratio * pb - margin;
  const se2 = pc * (1 - pc) / candidate.n + ratio * ratio * pb * (1 - pb) / baseline.n;
  const below = options.direction !== 'above';
  if (!(se2 > 0)) {
    // All or nothing in both arms: no sampling spread to weigh the difference against.
    const statistic = diff === 0 ? 0 : diff < 0 ? -Infinity : Infinity;
    const cdf = diff === 0 ? 0.5 : diff < 0 ? 0 : 1;
    return { statistic, pValue: below ? cdf : 1 - cdf };
  }
  const statistic = diff / Math.sqrt(se2);
  return { statistic, pValue: below ? normalCdf(statistic) : 1 - normalCdf(statistic) };
}

/**
 * Exact one-sided binomial test that a rate is above `bound`: H0: p ≤ bound, H1: p > bound, given
 * `k` events in `n` trials. P-value P(X ≥ k | n, bound). Used for an absolute error-rate ceiling,
 * and for a latency percentile (a p95 at or under a bound means at most 5% of calls above it).
 */
export function binomialAboveTest(k: number, n: number, bound: number): TestResult {
  return { statistic: n === 0 ? 0 : k / n, pValue: binomialUpperTail(k, n, bound) };
}

/** The `q` quantile (0–1) of sorted `values`: the nearest-rank definition (the value at rank ⌈q·n⌉). */
export function quantileSorted(values: Float64Array, q: number): number {
  if (values.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * values.length));
  return values[rank - 1] as number;
}

/** {@link quantileSorted} after sorting `values` in place. */
export function quantileInPlace(values: Float64Array, q: number): number {
  return quantileSorted(values.sort(), q);
}
