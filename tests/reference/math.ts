// float64 references for assembly/math.ts: exp and log from Math; Φ (the normal CDF) from erfc,
// by its Taylor series below z = 2 and its continued fraction above (both far below f32's ulp).

/** erfc(z) for z ≥ 0, relative error < 1e-13. `x2half` is z² given exactly (x²/2 for z = x/√2). */
function erfc(z: number, zz: number): number {
  if (z < 2) {
    // erf(z) = 2/√π · Σ (−1)^n z^(2n+1) / (n!·(2n+1))
    let term = z, sum = z;
    for (let n = 1; n < 200; n++) {
      term *= -zz / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-18 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated bottom-up.
  let f = z;
  for (let k = 200; k >= 1; k--) f = z + k / 2 / f;
  return Math.exp(-zz) / Math.sqrt(Math.PI) / f;
}

/** Φ(x) = erfc(−x/√2)/2 in float64 (x² is exact in float64 for a float32 x). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const half = erfc(Math.abs(x) / Math.SQRT2, (x * x) / 2) / 2;
  return x >= 0 ? 1 - half : half;
}

/** The spacing of float32 values at |r| (2^−149 for subnormals and 0). */
export function ulp32(r: number): number {
  const a = Math.abs(r);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Error of a float32 result y against a float64 reference r, in units of float32's last place. */
export function ulpError(y: number, r: number): number {
  if (Number.isNaN(r)) return Number.isNaN(y) ? 0 : Infinity;
  const rf = Math.fround(r);
  if (!Number.isFinite(rf)) return y === rf ? 0 : Infinity; // overflow must give the same infinity
  if (!Number.isFinite(y) || Number.isNaN(y)) return Infinity;
  return Math.abs(y - r) / ulp32(r);
}
