import { binomialAboveTest, binomialUpperTail, incompleteBeta, normalCdf, quantileInPlace, studentTCdf, twoProportionTest, welchRatioTest } from '../../../src/prompts/guard/stats';

// Reference values computed with SciPy 1.17 (scipy.stats / scipy.special) on this machine.
describe('guard statistics against SciPy', () => {
  test('normal CDF (scipy.stats.norm.cdf)', () => {
    const cases: [number, number][] = [
      [-5, 2.866515718791933e-7], [-1.96, 0.024997895148220435], [-1, 0.15865525393145707], [0, 0.5],
      [0.5, 0.6914624612740131], [1.6448536269514722, 0.95], [3, 0.9986501019683699], [8.5, 1],
    ];
    for (const [x, p] of cases) expect(normalCdf(x)).toBeCloseTo(p, 12);
    // Relative precision in the far tail, where an absolute check says nothing.
    expect(normalCdf(-5) / 2.866515718791933e-7).toBeCloseTo(1, 10);
  });

  test('Student t CDF, whole and fractional degrees of freedom (scipy.stats.t.cdf)', () => {
    const cases: [number, number, number][] = [
      [-2.1, 5, 0.044876624942299395], [1.3, 12.7, 0.8916497327078913], [-0.4, 1, 0.3788810584091566],
      [2.5, 250.3, 0.9934699467079202], [-3.2, 3.5, 0.019870029683993682],
    ];
    for (const [t, df, p] of cases) expect(studentTCdf(t, df)).toBeCloseTo(p, 11);
  });

  test('regularized incomplete beta (scipy.special.betainc) and the binomial tail (scipy.stats.binom.sf)', () => {
    expect(incompleteBeta(0.4, 2, 3)).toBeCloseTo(0.5248, 12);
    expect(incompleteBeta(0.1, 0.5, 0.5)).toBeCloseTo(0.20483276469913345, 12);
    expect(incompleteBeta(0.3, 10, 20)).toBeCloseTo(0.3640040810719437, 12);
    expect(incompleteBeta(0.8, 150, 40)).toBeCloseTo(0.6275816401502075, 11);
    expect(binomialUpperTail(10, 100, 0.05)).toBeCloseTo(0.02818829416341614, 12);
    expect(binomialUpperTail(3, 50, 0.05)).toBeCloseTo(0.45946687728048463, 12);
    expect(binomialUpperTail(25, 200, 0.05) / 2.606753129891226e-5).toBeCloseTo(1, 9);
    expect(binomialUpperTail(0, 10, 0.5)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.5)).toBe(0);
    expect(binomialAboveTest(10, 100, 0.05)).toEqual({ statistic: 0.1, pValue: expect.closeTo(0.02818829416341614, 12) });
  });

  test('Welch non-inferiority test H0: candidate >= 0.9 x baseline (statistic, Welch df, p)', () => {
    // Candidate 0.66 (sd 0.25, n 150) against baseline 0.80 (sd 0.25, n 400): bound 0.72.
    const drop = welchRatioTest({ n: 150, mean: 0.66, variance: 0.0625 }, { n: 400, mean: 0.8, variance: 0.0625 }, 0.9);
    expect(drop.statistic).toBeCloseTo(-2.574303282858893, 12);
    expect(drop.df).toBeCloseTo(244.8293718356403, 9);
    expect(drop.pValue).toBeCloseTo(0.005316565548035934, 12);
    // A drop inside the margin: nowhere near significant.
    const within = welchRatioTest({ n: 50, mean: 0.7, variance: 0.04 }, { n: 80, mean: 0.78, variance: 0.09 }, 0.9);
    expect(within.statistic).toBeCloseTo(-0.04834741572972791, 12);
    expect(within.df).toBeCloseTo(124.22945791768485, 9);
    expect(within.pValue).toBeCloseTo(0.4807585038671624, 12);
    // The other side (costs): p is its complement.
    expect(welchRatioTest({ n: 150, mean: 0.66, variance: 0.0625 }, { n: 400, mean: 0.8, variance: 0.0625 }, 0.9, 'above').pValue).toBeCloseTo(1 - 0.005316565548035934, 12);
  });

  test('Welch on raw samples matches scipy.stats.ttest_ind(c, 0.9 * b, equal_var=False, alternative="less")', () => {
    // The same test, stated on samples: scaling the baseline by r scales its variance by r².
    const c = [0.61, 0.7, 0.52, 0.66, 0.71, 0.58, 0.49, 0.75, 0.6, 0.63];
    const b = [0.82, 0.79, 0.9, 0.75, 0.88, 0.81, 0.77, 0.85, 0.8, 0.84, 0.86, 0.78];
    const m = (xs: number[]) => {
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      return { n: xs.length, mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1) };
    };
    const r = welchRatioTest(m(c), m(b), 0.9);
    // scipy: TtestResult(statistic=-3.9479673154681785, pvalue=0.0008726474549120971, df=12.683982772145677)
    expect(r.statistic).toBeCloseTo(-3.9479673154681785, 10);
    expect(r.df).toBeCloseTo(12.683982772145677, 9);
    expect(r.pValue).toBeCloseTo(0.0008726474549120971, 12);
  });

  test('two-proportion z tests: pass rates against 0.9 x baseline, error rates against baseline + margin', () => {
    const pass = twoProportionTest({ successes: 234, n: 300 }, { successes: 270, n: 300 }, { ratio: 0.9 });
    expect(pass.statistic).toBeCloseTo(-1.0508541661560893, 12);
    expect(pass.pValue).toBeCloseTo(0.14666278688301027, 12);
    const errors = twoProportionTest({ successes: 30, n: 300 }, { successes: 6, n: 300 }, { margin: 0.05, direction: 'above' });
    expect(errors.statistic).toBeCloseTo(1.5695552394341004, 12);
    expect(errors.pValue).toBeCloseTo(0.05825930937722404, 12);
    // No spread in either arm: the difference decides alone.
    expect(twoProportionTest({ successes: 0, n: 100 }, { successes: 100, n: 100 }, { ratio: 0.9 }).pValue).toBe(0);
    expect(twoProportionTest({ successes: 100, n: 100 }, { successes: 100, n: 100 }, { ratio: 0.9 }).pValue).toBe(1);
  });

  test('nearest-rank quantile', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantileInPlace(xs, 0.95)).toBe(95);
    expect(quantileInPlace(Float64Array.from([3, 1, 2]), 0.95)).toBe(3);
    expect(Number.isNaN(quantileInPlace(new Float64Array(0), 0.95))).toBe(true);
  });
});
