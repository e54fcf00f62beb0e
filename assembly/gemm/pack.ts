// Weight packing for the indirect GEMM (src/ops/pack.ts, packGemm), and the ONNX importer's weight
// relayout (relayout_f32, below): pure copies, so the bits are the same as the JavaScript loops
// they replaced (tests/pack-gemm.test.ts compares them).
//
// Layout, per group and per block of 8 output columns: [bias 8][T taps][K rows][8 columns], the
// bias row zero without a bias and every column past Nc zero. Column n of group g, tap t, row k
// reads w at base + t·st + k·sk + n·sn, affine in (t, k, n):
//   plain      (conv2d HWIO [T, Cin, Cout], dense [in, units]):   base g·Nc, st K·Cout, sk Cout, sn 1
//   transposed (conv2dTranspose [T, Cout/g, Cin], a dense's Wᵀ):  base g·K,  st Nc·Cin, sk 1,    sn Cin
// (Cin = K·groups, Cout = Nc·groups); `flip` reverses the taps. Plain rows are 8 contiguous floats
// (two vector loads); transposed ones are gathered 4 rows at a time: a vector of 4 consecutive k
// per column, 8 columns, transposed 4×4 twice into 4 rows of 8.

/** Blocks [b0, b1) of all groups' blocks (block index = group · ⌈Nc/8⌉ + block) into `out`. */
export function pack_gemm_f32(
  w: usize, bias: usize, groups: i32, T: i32, K: i32, Nc: i32, flip: i32, transposed: i32, out: usize, b0: i32, b1: i32,
): void {
  const blocks = (Nc + 7) >> 3;
  const blockBytes = <usize>(8 + T * K * 8) << 2;
  const Cin = K * groups, Cout = Nc * groups;
  for (let gb = b0; gb < b1; gb++) {
    const gi = gb / blocks, blk = gb - gi * blocks;
    const n0 = blk * 8, live = min(8, Nc - n0);
    let dst = out + <usize>gb * blockBytes;
    for (let j = 0; j < 8; j++) {
      store<f32>(dst + (<usize>j << 2), j < live && bias != 0 ? load<f32>(bias + (<usize>(gi * Nc + n0 + j) << 2)) : 0);
    }
    dst += 32;
    for (let t = 0; t < T; t++) {
      const tt = flip ? T - 1 - t : t;
      if (transposed) {
        // w[gi·K + tt·Nc·Cin + k + n·Cin]
        const col = w + (<usize>(gi * K + tt * Nc * Cin + n0 * Cin) << 2), colStep = <usize>Cin << 2;
        let k = 0;
        if (ASC_FEATURE_SIMD && live == 8) {
          for (; k + 4 <= K; k += 4) {
            const c = col + (<usize>k << 2);
            gather4x8(c, colStep, dst);
            dst += 128;
          }
        }
        for (; k < K; k++) {
          const c = col + (<usize>k << 2);
          for (let j = 0; j < 8; j++) store<f32>(dst + (<usize>j << 2), j < live ? load<f32>(c + <usize>j * colStep) : 0);
          dst += 32;
        }
      } else {
        // w[gi·Nc + tt·K·Cout + k·Cout + n]
        let row = w + (<usize>(gi * Nc + tt * K * Cout + n0) << 2);
        const rowStep = <usize>Cout << 2;
        for (let k = 0; k < K; k++) {
          if (ASC_FEATURE_SIMD && live == 8) {
            v128.store(dst, v128.load(row));
            v128.store(dst, v128.load(row, 16), 16);
          } else {
            for (let j = 0; j < 8; j++) store<f32>(dst + (<usize>j << 2), j < live ? load<f32>(row + (<usize>j << 2)) : 0);
          }
          row += rowStep;
          dst += 32;
        }
      }
    }
  }
}

/** Columns c + j·step (j < 8), 4 floats each (rows k..k+3) → 4 rows of 8 at dst. */
// @ts-ignore: decorator
@inline function gather4x8(c: usize, step: usize, dst: usize): void {
  const a0 = v128.load(c), a1 = v128.load(c + step), a2 = v128.load(c + 2 * step), a3 = v128.load(c + 3 * step);
  const a4 = v128.load(c + 4 * step), a5 = v128.load(c + 5 * step), a6 = v128.load(c + 6 * step), a7 = v128.load(c + 7 * step);
  // 4×4 transposes: row r of the output block gets lane r of each column vector.
  const l01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), h01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const l23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), h23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  const l45 = v128.shuffle<f32>(a4, a5, 0, 4, 1, 5), h45 = v128.shuffle<f32>(a4, a5, 2, 6, 3, 7);
  const l67 = v128.shuffle<f32>(a6, a7, 0, 4, 1, 5), h67 = v128.shuffle<f32>(a6, a7, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f64>(l01, l23, 0, 2));
  v128.store(dst, v128.shuffle<f64>(l45, l67, 0, 2), 16);
  v128.store(dst, v128.shuffle<f64>(l01, l23, 1, 3), 32);
  v128.store(dst, v128.shuffle<f64>(l45, l67, 1, 3), 48);
  v128.store(dst, v128.shuffle<f64>(h01, h23, 0, 2), 64);
  v128.store(dst, v128.shuffle<f64>(h45, h67, 0, 2), 80);
  v128.store(dst, v128.shuffle<f64>(h01, h23, 1, 3), 96);
  v128.store(dst, v128.shuffle<f64>(h45, h67, 1, 3), 112);
}

/**
 * An importer's weight relayout (src/ops/pack.ts, relayout): dst[(t·B + b)·A + a] = src[(a·B + b)·T + t]
 * — ONNX's [A, B, T] (conv [Cout, Cin/g, KH·KW]) to [T, B, A] (HWIO), or with T = 1 a plain A×B
 * transpose (a Gemm's Bᵀ). Bit copies (NaN payloads kept), in tiles of 16 values of a: per b, 16
 * runs of T contiguous floats read, T runs of 16 contiguous floats written.
 */
export function relayout_f32(src: usize, dst: usize, A: i32, B: i32, T: i32): void {
  const BT = <usize>B * <usize>T, step = <usize>B * <usize>A << 2;
  for (let a0 = 0; a0 < A; a0 += 16) {
    const a1 = min(A, a0 + 16);
    for (let b = 0; b < B; b++) {
      for (let a = a0; a < a1; a++) {
        let r = src + ((<usize>a * BT + <usize>b * <usize>T) << 2);
        let d = dst + ((<usize>b * <usize>A + <usize>a) << 2);
        for (let t = 0; t < T; t++) {
          store<u32>(d, load<u32>(r));
          r += 4;
          d += step;
        }
      }
    }
  }
}
