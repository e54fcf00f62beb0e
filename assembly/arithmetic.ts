// Elementwise arithmetic with broadcasting, its gradient reductions, and addN. The host coalesces
// broadcast shapes (adjacent axes with the same broadcast pattern merged, size-1 output axes
// dropped), so the innermost axis a kernel sees is contiguous in both inputs (equal shapes, one
// flat run), or contiguous in one and fixed in the other (a per-channel vector, the
// squeeze-excitation [N,1,1,C] scale, a scalar): all three run as v128 loops with a scalar tail.
// Every lane does the same single f32 operation as the tail, so results are bit-identical in the
// SIMD body, the tail and the scalar build.

/** Operation codes (the host's table in src/ops/arithmetic.ts uses the same numbers). */
const ADD = 0;
const SUB = 1;
const MUL = 2;
const DIV = 3;
/** b − a and b / a: the host swaps the operands so the broadcast one is always second. */
const RSUB = 4;
const RDIV = 5;

// @ts-ignore: decorator
@inline function op4(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  if (op == DIV) return f32x4.div(a, b);
  if (op == RSUB) return f32x4.sub(b, a);
  return f32x4.div(b, a);
}

// @ts-ignore: decorator
@inline function op1(op: i32, a: f32, b: f32): f32 {
  if (op == ADD) return a + b;
  if (op == SUB) return a - b;
  if (op == MUL) return a * b;
  if (op == DIV) return a / b;
  if (op == RSUB) return b - a;
  return b / a;
}

/** y[i] = a[i] op b[i·sb] for i < n, sb ∈ {0, 1} (b contiguous, or one value for the whole run). */
// @ts-ignore: decorator
@inline function run(op: i32, a: usize, b: usize, y: usize, n: i32, sb: i32): void {
  let i = 0;
  if (sb == 0) {
    const s = load<f32>(b);
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(y + o, op4(op, v128.load(a + o), vs));
      }
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(y + o, op1(op, load<f32>(a + o), s));
    }
  } else {
    if (ASC_FEATURE_SIMD) {
      for (; i + 8 <= n; i += 8) {
        const o = <usize>i << 2;
        v128.store(y + o, op4(op, v128.load(a + o), v128.load(b + o)));
        v128.store(y + o, op4(op, v128.load(a + o, 16), v128.load(b + o, 16)), 16);
      }
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(y + o, op4(op, v128.load(a + o), v128.load(b + o)));
      }
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(y + o, op1(op, load<f32>(a + o), load<f32>(b + o)));
    }
  }
}

/**
 * y = a op b over a coalesced output of `rank` (1..6) dims. dims, sa, sb: i32[rank] at the given
 * addresses, outermost first; sa, sb are element strides of a and b (0 on broadcast axes), and
 * the innermost axis has sa = 1 and sb ∈ {0, 1}. y is contiguous. op: ADD..RDIV.
 */
// @ts-ignore: decorator
@inline function broadcastBody(op: i32, a: usize, b: usize, y: usize, rank: i32, dims: usize, sa: usize, sb: usize): void {
  const last = rank - 1;
  const inner = load<i32>(dims + (<usize>last << 2));
  const innerSb = load<i32>(sb + (<usize>last << 2));
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= load<i32>(dims + (<usize>d << 2));
  // Outer index as a counter over dims[0..last), with running offsets of a and b.
  let idx0 = 0, idx1 = 0, idx2 = 0, idx3 = 0, idx4 = 0;
  let offA: usize = 0, offB: usize = 0;
  const yRow = <usize>inner << 2;
  for (let r = 0; r < rows; r++) {
    run(op, a + (offA << 2), b + (offB << 2), y + <usize>r * yRow, inner, innerSb);
    // Advance the counter from axis last − 1 outwards.
    let d = last - 1;
    while (d >= 0) {
      const dp = <usize>d << 2;
      let i: i32;
      if (d == 0) i = ++idx0; else if (d == 1) i = ++idx1; else if (d == 2) i = ++idx2; else if (d == 3) i = ++idx3; else i = ++idx4;
      offA += <usize>load<i32>(sa + dp);
      offB += <usize>load<i32>(sb + dp);
      if (i < load<i32>(dims + dp)) break;
      // Wrap this axis and carry into the next one out.
      offA -= <usize>load<i32>(sa + dp) * <usize>i;
      offB -= <usize>load<i32>(sb + dp) * <usize>i;
      if (d == 0) idx0 = 0; else if (d == 1) idx1 = 0; else if (d == 2) idx2 = 0; else if (d == 3) idx3 = 0; else idx4 = 0;
      d--;
    }
  }
}

/** Broadcasting a op b (see broadcastBody); the op is dispatched once, outside the loops. */
export function arith_f32(op: i32, a: usize, b: usize, y: usize, rank: i32, dims: usize, sa: usize, sb: usize): void {
  if (op == ADD) broadcastBody(ADD, a, b, y, rank, dims, sa, sb);
  else if (op == SUB) broadcastBody(SUB, a, b, y, rank, dims, sa, sb);
  else if (op == MUL) broadcastBody(MUL, a, b, y, rank, dims, sa, sb);
  else if (op == DIV) broadcastBody(DIV, a, b, y, rank, dims, sa, sb);
  else if (op == RSUB) broadcastBody(RSUB, a, b, y, rank, dims, sa, sb);
  else broadcastBody(RDIV, a, b, y, rank, dims, sa, sb);
}

/** Add the four f32 lanes of v to two f64x2 accumulators (lanes 0, 1 → lo; 2, 3 → hi). */
// @ts-ignore: decorator
@inline function widen(acc: v128, v: v128, high: bool): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(high ? v128.shuffle<f32>(v, v, 2, 3, 0, 1) : v));
}

/**
 * Sum x (a coalesced [dims] of `rank` 1..6, contiguous) into acc (f64, 8-aligned) at the element
 * strides st (0 on summed axes; the innermost stride is 0 or 1): acc[Σ idx·st] += x[idx]. The
 * caller zeroes acc. Every element is added to its accumulator in order, in f64, lane for lane the
 * same in the SIMD body and the tail, so the sums do not depend on the build.
 */
export function arith_f32_backward(x: usize, acc: usize, rank: i32, dims: usize, st: usize): void {
  const last = rank - 1;
  const inner = load<i32>(dims + (<usize>last << 2));
  const innerSt = load<i32>(st + (<usize>last << 2));
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= load<i32>(dims + (<usize>d << 2));
  let idx0 = 0, idx1 = 0, idx2 = 0, idx3 = 0, idx4 = 0;
  let off: usize = 0;
  const xRow = <usize>inner << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * xRow;
    const ar = acc + (off << 3);
    let c = 0;
    if (innerSt == 0) {
      // The whole run into one accumulator: in order, so SIMD and scalar agree bit for bit.
      let s = load<f64>(ar);
      for (; c < inner; c++) s += <f64>load<f32>(xr + (<usize>c << 2));
      store<f64>(ar, s);
    } else {
      if (ASC_FEATURE_SIMD) {
        for (; c + 4 <= inner; c += 4) {
          const v = v128.load(xr + (<usize>c << 2));
          const p = ar + (<usize>c << 3);
          v128.store(p, widen(v128.load(p), v, false));
          v128.store(p, widen(v128.load(p, 16), v, true), 16);
        }
      }
      for (; c < inner; c++) {
        const p = ar + (<usize>c << 3);
        store<f64>(p, load<f64>(p) + <f64>load<f32>(xr + (<usize>c << 2)));
      }
    }
    let d = last - 1;
    while (d >= 0) {
      const dp = <usize>d << 2;
      let i: i32;
      if (d == 0) i = ++idx0; else if (d == 1) i = ++idx1; else if (d == 2) i = ++idx2; else if (d == 3) i = ++idx3; else i = ++idx4;
      off += <usize>load<i32>(st + dp);
      if (i < load<i32>(dims + dp)) break;
      off -= <usize>load<i32>(st + dp) * <usize>i;
      if (d == 0) idx0 = 0; else if (d == 1) idx1 = 0; else if (d == 2) idx2 = 0; else if (d == 3) idx3 = 0; else idx4 = 0;
      d--;
    }
  }
}

/** y[i] = <f32>(acc[i]·scale) for i < n (acc f64, scale ±1 in practice: exact). */
export function f64_to_f32(acc: usize, y: usize, n: i32, scale: f64): void {
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), <f32>(load<f64>(acc + (<usize>i << 3)) * scale));
}

/**
 * y[i] = ((x0[i] + x1[i]) + x2[i]) + … over k ≥ 1 inputs of n floats; ptrs: u32[k] addresses. One
 * pass over the output (each vector of y summed over the inputs in registers), same order as
 * repeated adds, so the result equals a chain of add() calls bit for bit.
 */
export function add_n_f32(ptrs: usize, k: i32, y: usize, n: i32): void {
  let i = 0;
  const x0 = <usize>load<u32>(ptrs);
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      let s = v128.load(x0 + o);
      for (let j = 1; j < k; j++) s = f32x4.add(s, v128.load(<usize>load<u32>(ptrs + (<usize>j << 2)) + o));
      v128.store(y + o, s);
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let s = load<f32>(x0 + o);
    for (let j = 1; j < k; j++) s += load<f32>(<usize>load<u32>(ptrs + (<usize>j << 2)) + o);
    store<f32>(y + o, s);
  }
}
