import { clamp } from './simd';
import {
  GELU_CLAMP, SELU_SCALE, SELU_SCALE_ALPHA, MAX_F32, exp4, exp1, normalCdf4, normalCdf1, normalPdf4, normalPdf1, takesMax4, takesMax1,
} from './math';

// Gradients of the activations of assembly/activation.ts (src/ops/activation-backprop.ts), over
// raw addresses. Each kernel reads dy and the forward input x (or the forward output y, where that
// is cheaper) and writes dx. Elementwise kernels are safe in place (dx may be dy, x or y). As in
// the forward file, every op's `f4` has a scalar twin `f1` performing the same f32 operations in
// the same order, so an element gets bit-identical results in the SIMD body, in the scalar tail
// and in every build: that is why the relaxed build uses mul + add here too, never a fused madd.
// Row sums (softmax, logSoftmax, prelu's dalpha) add exact f32·f32 products in f64.
//
// Where a derivative goes through a kink, the value at the kink is that of the forward's branch:
// the forward selects `x > 0 ? linear : other`, so x == 0 takes the other side's slope (relu 0,
// leakyRelu and prelu alpha, elu alpha, selu scale·alpha). exp, gelu's Φ and φ and the max rule
// (maxout: ties keep the first, the first NaN wins) come from assembly/math.ts.

/**
 * dx[i] = Op(dy[i], v[i]) for i < n, v the forward's input or output: a 4-lane body, then the
 * scalar tail, as activation.ts' map (Op's `f4`/`f1` take dy, v and the parameters a, b).
 */
// @ts-ignore: decorator
@inline function map<Op>(dy: usize, v: usize, dx: usize, n: i32, a: f32 = 0, b: f32 = 0): void {
  const op = changetype<Op>(0);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(a), vb = f32x4.splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dx + o, op.f4(v128.load(dy + o), v128.load(v + o), va, vb));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, op.f1(load<f32>(dy + o), load<f32>(v + o), a, b));
  }
}

// ---- the ops: f4(dy, v) over four lanes, f1 its scalar twin ----

/** 0 at x = 0 and for NaN x, as TensorFlow's ReluGrad. */
class ReluGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 { return v128.and(g, f32x4.gt(v, f32x4.splat(0))); }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 { return x > 0 ? g : 0; }
}

class LeakyReluGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 { return v128.bitselect(g, f32x4.mul(g, a), f32x4.gt(v, f32x4.splat(0))); }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 { return x > 0 ? g : g * a; }
}

/** From x, not y: y + alpha would cancel for x ≪ 0. */
class EluGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 {
    return v128.bitselect(g, f32x4.mul(g, f32x4.mul(exp4(v), a)), f32x4.gt(v, f32x4.splat(0)));
  }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 { return x > 0 ? g : g * (exp1(x) * a); }
}

class SeluGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 {
    return f32x4.mul(g, v128.bitselect(f32x4.splat(SELU_SCALE), f32x4.mul(exp4(v), f32x4.splat(SELU_SCALE_ALPHA)), f32x4.gt(v, f32x4.splat(0))));
  }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 { return g * (x > 0 ? SELU_SCALE : exp1(x) * SELU_SCALE_ALPHA); }
}

/** From y, the sigmoid's output: y·(1 − y). */
class SigmoidGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 { return f32x4.mul(g, f32x4.mul(v, f32x4.sub(f32x4.splat(1), v))); }
  // @ts-ignore: decorator
  @inline f1(g: f32, y: f32, a: f32, b: f32): f32 { return g * (y * (<f32>1 - y)); }
}

/** From y, the tanh's output: 1 − y² as (1 − y)(1 + y), which does not cancel as |y| → 1. */
class TanhGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 {
    const one = f32x4.splat(1);
    return f32x4.mul(g, f32x4.mul(f32x4.sub(one, v), f32x4.add(one, v)));
  }
  // @ts-ignore: decorator
  @inline f1(g: f32, y: f32, a: f32, b: f32): f32 { return g * ((<f32>1 - y) * (<f32>1 + y)); }
}

/**
 * swish'(x) = σ(x)·(1 + x·(1 − σ(x))). σ and 1 − σ = σ(−x) both come from e = exp(−|x|), so
 * neither cancels; x is clamped to ±FLT_MAX so that ±Infinity gives the limits 1 and 0, not ∞·0.
 */
class SwishGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, x: v128, a: v128, b: v128): v128 {
    const one = f32x4.splat(1);
    const xc = clamp(x, f32x4.splat(-MAX_F32), f32x4.splat(MAX_F32));
    const e = exp4(f32x4.neg(f32x4.abs(x)));
    const d = f32x4.add(e, one);
    const pos = f32x4.ge(x, f32x4.splat(0));
    const s = f32x4.div(v128.bitselect(one, e, pos), d);
    const c = f32x4.div(v128.bitselect(e, one, pos), d);
    return f32x4.mul(g, f32x4.mul(s, f32x4.add(f32x4.mul(xc, c), one)));
  }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 {
    const xc = min(max(x, -MAX_F32), MAX_F32);
    const e = exp1(-abs<f32>(x));
    const d = e + 1;
    const pos = x >= 0;
    const s = (pos ? <f32>1 : e) / d;
    const c = (pos ? e : <f32>1) / d;
    return g * (s * (xc * c + 1));
  }
}

/** gelu'(x) = Φ(x) + x·φ(x), Φ exactly as the forward computes it (math.ts); gelu'(±Infinity) = 1, 0. */
class GeluGrad {
  f4(g: v128, x: v128, a: v128, b: v128): v128 {
    const xc = clamp(x, f32x4.splat(-GELU_CLAMP), f32x4.splat(GELU_CLAMP));
    return f32x4.mul(g, f32x4.add(normalCdf4(x), f32x4.mul(xc, normalPdf4(x))));
  }
  f1(g: f32, x: f32, a: f32, b: f32): f32 {
    const xc = min(max(x, -GELU_CLAMP), GELU_CLAMP);
    return g * (normalCdf1(x) + xc * normalPdf1(x));
  }
}

// relu6, hardSigmoid and hardSwish: slopes at the kinks as PyTorch's backward kernels take them
// (hardtanh_backward and hardsigmoid_backward: 0 at both ends of the linear piece; hardswish_backward:
// x < −3 → 0, −3 ≤ x ≤ 3 → x/3 + 1/2, x > 3 → 1). Unlike PyTorch, a NaN x gives a NaN dx (the
// forward's output there is NaN, so is its derivative): the NaN lanes are selected from x itself.

class Relu6Grad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 {
    const inside = v128.and(f32x4.gt(v, f32x4.splat(0)), f32x4.lt(v, f32x4.splat(6)));
    return v128.bitselect(v, v128.and(g, inside), f32x4.ne(v, v));
  }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 { return x != x ? x : x > 0 && x < 6 ? g : 0; }
}

/** t = alpha·x + beta (as the forward rounds it); alpha·dy where 0 < t < 1. */
class HardSigmoidGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 {
    const t = f32x4.add(f32x4.mul(v, a), b);
    const inside = v128.and(f32x4.gt(t, f32x4.splat(0)), f32x4.lt(t, f32x4.splat(1)));
    return v128.bitselect(v, v128.and(f32x4.mul(g, a), inside), f32x4.ne(v, v));
  }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 {
    const t = x * a + b;
    return x != x ? x : t > 0 && t < 1 ? g * a : 0;
  }
}

class HardSwishGrad {
  // @ts-ignore: decorator
  @inline f4(g: v128, v: v128, a: v128, b: v128): v128 {
    const three = f32x4.splat(3);
    const mid = f32x4.mul(g, f32x4.add(f32x4.div(v, three), f32x4.splat(0.5)));
    const upper = v128.bitselect(mid, g, f32x4.le(v, three));
    return v128.bitselect(v, v128.and(upper, f32x4.ge(v, f32x4.neg(three))), f32x4.ne(v, v));
  }
  // @ts-ignore: decorator
  @inline f1(g: f32, x: f32, a: f32, b: f32): f32 { return x != x ? x : x < -3 ? 0 : x <= 3 ? g * (x / 3 + <f32>0.5) : g; }
}

// ---- kernels ----

/** dx[i] = x[i] > 0 ? dy[i] : 0 (0 at x = 0 and for NaN x). */
export function relu_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void { map<ReluGrad>(dy, x, dx, n); }

/** dx[i] = x[i] > 0 ? dy[i] : alpha·dy[i]. */
export function leaky_relu_grad_f32(dy: usize, x: usize, dx: usize, n: i32, alpha: f32): void { map<LeakyReluGrad>(dy, x, dx, n, alpha); }

/** dx[i] = x[i] > 0 ? dy[i] : dy[i]·(alpha·exp(x[i])). */
export function elu_grad_f32(dy: usize, x: usize, dx: usize, n: i32, alpha: f32): void { map<EluGrad>(dy, x, dx, n, alpha); }

/** dx[i] = dy[i]·(x[i] > 0 ? scale : scale·alpha·exp(x[i])), PyTorch's scale and alpha. */
export function selu_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void { map<SeluGrad>(dy, x, dx, n); }

/** dx[i] = dy[i]·(y[i]·(1 − y[i])), y the sigmoid's output. */
export function sigmoid_grad_f32(dy: usize, y: usize, dx: usize, n: i32): void { map<SigmoidGrad>(dy, y, dx, n); }

/** dx[i] = dy[i]·(1 − y[i])(1 + y[i]), y the tanh's output. */
export function tanh_grad_f32(dy: usize, y: usize, dx: usize, n: i32): void { map<TanhGrad>(dy, y, dx, n); }

/** dx[i] = dy[i]·swish'(x[i]); swish'(±Infinity) = 1, 0. */
export function swish_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void { map<SwishGrad>(dy, x, dx, n); }

/** dx[i] = dy[i]·(Φ(x[i]) + x[i]·φ(x[i])), the exact (erf) gelu. */
export function gelu_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void { map<GeluGrad>(dy, x, dx, n); }

/** dx[i] = 0 < x[i] < 6 ? dy[i] : 0; NaN where x[i] is NaN. */
export function relu6_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void { map<Relu6Grad>(dy, x, dx, n); }

/** dx[i] = 0 < alpha·x[i] + beta < 1 ? alpha·dy[i] : 0; NaN where x[i] is NaN. */
export function hard_sigmoid_grad_f32(dy: usize, x: usize, dx: usize, n: i32, alpha: f32, beta: f32): void { map<HardSigmoidGrad>(dy, x, dx, n, alpha, beta); }

/** dx[i] = x < −3 ? 0 : x ≤ 3 ? dy·(x/3 + 0.5) : dy (PyTorch's hardswish_backward); NaN where x[i] is NaN. */
export function hard_swish_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void { map<HardSwishGrad>(dy, x, dx, n); }

/** Add the exact f64 products of the four f32 lanes of a and b to the accumulators lo (lanes 0, 1) and hi (2, 3). */
// @ts-ignore: decorator
@inline function dotLow(acc: v128, a: v128, b: v128): v128 {
  return f64x2.add(acc, f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)));
}

// @ts-ignore: decorator
@inline function dotHigh(acc: v128, a: v128, b: v128): v128 {
  return dotLow(acc, v128.shuffle<f32>(a, a, 2, 3, 0, 1), v128.shuffle<f32>(b, b, 2, 3, 0, 1));
}

/**
 * Σ a[c]·b[c] over cols floats, in f64 (each f32 product is exact in f64). If b == 0, Σ a[c]
 * instead. Two accumulators per lane pair keep the adds independent.
 */
function rowDot(a: usize, b: usize, cols: i32): f64 {
  let s: f64 = 0;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const ones = f32x4.splat(1);
    let s0 = f64x2.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (; c + 8 <= cols; c += 8) {
      const o = <usize>c << 2;
      const a0 = v128.load(a + o), a1 = v128.load(a + o, 16);
      const b0 = b != 0 ? v128.load(b + o) : ones, b1 = b != 0 ? v128.load(b + o, 16) : ones;
      s0 = dotLow(s0, a0, b0); s1 = dotHigh(s1, a0, b0);
      s2 = dotLow(s2, a1, b1); s3 = dotHigh(s3, a1, b1);
    }
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      const a0 = v128.load(a + o);
      const b0 = b != 0 ? v128.load(b + o) : ones;
      s0 = dotLow(s0, a0, b0); s1 = dotHigh(s1, a0, b0);
    }
    s0 = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
    s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  }
  for (; c < cols; c++) {
    const o = <usize>c << 2;
    s += <f64>load<f32>(a + o) * (b != 0 ? <f64>load<f32>(b + o) : 1.0);
  }
  return s;
}

/**
 * x, dy, dx: [rows][C]; alpha, dalpha: [C]; acc: scratch of C f64 (8·C bytes, 8-aligned).
 * dx = x > 0 ? dy : alpha[c]·dy; dalpha[c] = Σ over rows of dy·x where !(x > 0) (x = 0 adds 0;
 * NaN x adds NaN, as the forward's output there depends on alpha). Rows are summed in order,
 * in f64, in every lane and in the tail alike: dalpha is the same in every build.
 */
export function prelu_grad_f32(dy: usize, x: usize, alpha: usize, dx: usize, dalpha: usize, acc: usize, rows: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  for (let c = 0; c < C; c++) store<f64>(acc + (<usize>c << 3), 0);
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const g = v128.load(dy + base + o), v = v128.load(x + base + o);
        const pos = f32x4.gt(v, zero);
        v128.store(dx + base + o, v128.bitselect(g, f32x4.mul(g, v128.load(alpha + o)), pos));
        // Masking both factors (not the product) keeps an infinite dy at a positive x out of the sum.
        const gm = v128.andnot(g, pos), vm = v128.andnot(v, pos);
        const a = acc + (<usize>c << 3);
        v128.store(a, dotLow(v128.load(a), gm, vm));
        v128.store(a, dotHigh(v128.load(a, 16), gm, vm), 16);
      }
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      const g = load<f32>(dy + base + o), v = load<f32>(x + base + o);
      const pos = v > 0;
      store<f32>(dx + base + o, pos ? g : g * load<f32>(alpha + o));
      if (!pos) {
        const a = acc + (<usize>c << 3);
        store<f64>(a, load<f64>(a) + <f64>g * <f64>v);
      }
    }
  }
  for (let c = 0; c < C; c++) store<f32>(dalpha + (<usize>c << 2), <f32>load<f64>(acc + (<usize>c << 3)));
}

/** dy, y, dx: [rows][cols], y the softmax's output. dx = y ⊙ (dy − Σ dy ⊙ y) per row (sum in f64). */
export function softmax_grad_f32(dy: usize, y: usize, dx: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    const s = <f32>rowDot(dy + base, y + base, cols);
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      for (; c + 4 <= cols; c += 4) {
        const o = base + (<usize>c << 2);
        v128.store(dx + o, f32x4.mul(v128.load(y + o), f32x4.sub(v128.load(dy + o), vs)));
      }
    }
    for (; c < cols; c++) {
      const o = base + (<usize>c << 2);
      store<f32>(dx + o, load<f32>(y + o) * (load<f32>(dy + o) - s));
    }
  }
}

/** dy, y, dx: [rows][cols], y the logSoftmax's output. dx = dy − exp(y)·Σ dy per row (sum in f64). */
export function log_softmax_grad_f32(dy: usize, y: usize, dx: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    const s = <f32>rowDot(dy + base, 0, cols);
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      for (; c + 4 <= cols; c += 4) {
        const o = base + (<usize>c << 2);
        v128.store(dx + o, f32x4.sub(v128.load(dy + o), f32x4.mul(exp4(v128.load(y + o)), vs)));
      }
    }
    for (; c < cols; c++) {
      const o = base + (<usize>c << 2);
      store<f32>(dx + o, load<f32>(dy + o) - exp1(load<f32>(y + o)) * s);
    }
  }
}

/**
 * x, dx: [rows][C]; dy: [rows][C/k], C % k == 0. Each group of k gets dy at its first max (the
 * first NaN if it holds one, the element the forward's NaN came from), 0 elsewhere. Not in place.
 */
export function maxout_grad_f32(dy: usize, x: usize, dx: usize, rows: i32, C: i32, k: i32): void {
  const groups = rows * (C / k);
  const kBytes = <usize>k << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    if (k == 2) {
      // Four pairs in two vectors: the odd element wins by the max rule, else the even one.
      for (; j + 4 <= groups; j += 4) {
        const p = x + (<usize>j << 3);
        const a = v128.load(p), b = v128.load(p, 16);
        const odd = takesMax4(v128.shuffle<f32>(a, b, 1, 3, 5, 7), v128.shuffle<f32>(a, b, 0, 2, 4, 6));
        const g = v128.load(dy + (<usize>j << 2));
        const ge = v128.andnot(g, odd), go = v128.and(g, odd);
        const q = dx + (<usize>j << 3);
        v128.store(q, v128.shuffle<f32>(ge, go, 0, 4, 1, 5));
        v128.store(q, v128.shuffle<f32>(ge, go, 2, 6, 3, 7), 16);
      }
    } else if ((k & 3) == 0) {
      // The group's max (NaN if any) in every lane, then the first element equal to it (or NaN).
      for (; j < groups; j++) {
        const p = x + <usize>j * kBytes;
        const q = dx + <usize>j * kBytes;
        let m = v128.load(p);
        for (let i = 4; i < k; i += 4) m = f32x4.max(m, v128.load(p + (<usize>i << 2)));
        m = f32x4.max(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
        m = f32x4.max(m, v128.shuffle<f32>(m, m, 1, 0, 3, 2));
        const nan = f32x4.ne(m, m);
        let at = -1;
        for (let i = 0; i < k; i += 4) {
          const o = <usize>i << 2;
          v128.store(q + o, zero);
          if (at < 0) {
            const v = v128.load(p + o);
            const bits = i32x4.bitmask(v128.bitselect(f32x4.ne(v, v), f32x4.eq(v, m), nan));
            if (bits != 0) at = i + ctz<i32>(bits);
          }
        }
        if (at >= 0) store<f32>(q + (<usize>at << 2), load<f32>(dy + (<usize>j << 2)));
      }
    } else {
      // Four groups at a time, one lane each (a strided gather), the winner's index per lane.
      for (; j + 4 <= groups; j += 4) {
        const p = x + <usize>j * kBytes;
        let m = zero;
        m = v128.load32_lane(p, m, 0);
        m = v128.load32_lane(p + kBytes, m, 1);
        m = v128.load32_lane(p + 2 * kBytes, m, 2);
        m = v128.load32_lane(p + 3 * kBytes, m, 3);
        let at = i32x4.splat(0);
        for (let i = 1; i < k; i++) {
          const s = p + (<usize>i << 2);
          let v = zero;
          v = v128.load32_lane(s, v, 0);
          v = v128.load32_lane(s + kBytes, v, 1);
          v = v128.load32_lane(s + 2 * kBytes, v, 2);
          v = v128.load32_lane(s + 3 * kBytes, v, 3);
          const t = takesMax4(v, m);
          m = v128.bitselect(v, m, t);
          at = v128.bitselect(i32x4.splat(i), at, t);
        }
        // The four groups are 4·k contiguous floats: whole vectors of zeros, then the four winners.
        const q = dx + <usize>j * kBytes;
        const end = q + 4 * kBytes;
        for (let o = q; o < end; o += 16) v128.store(o, zero);
        const g = v128.load(dy + (<usize>j << 2));
        store<f32>(q + (<usize>i32x4.extract_lane(at, 0) << 2), f32x4.extract_lane(g, 0));
        store<f32>(q + kBytes + (<usize>i32x4.extract_lane(at, 1) << 2), f32x4.extract_lane(g, 1));
        store<f32>(q + 2 * kBytes + (<usize>i32x4.extract_lane(at, 2) << 2), f32x4.extract_lane(g, 2));
        store<f32>(q + 3 * kBytes + (<usize>i32x4.extract_lane(at, 3) << 2), f32x4.extract_lane(g, 3));
      }
    }
  }
  for (; j < groups; j++) {
    const p = x + <usize>j * kBytes;
    const q = dx + <usize>j * kBytes;
    let m = load<f32>(p);
    let at = 0;
    for (let i = 1; i < k; i++) {
      const v = load<f32>(p + (<usize>i << 2));
      if (takesMax1(v, m)) { m = v; at = i; }
    }
    for (let i = 0; i < k; i++) store<f32>(q + (<usize>i << 2), 0);
    store<f32>(q + (<usize>at << 2), load<f32>(dy + (<usize>j << 2)));
  }
}
