// Strided row copies: the one data movement under concat and split (and pad2d's rows, assembly/pad.ts). A "row" is a
// contiguous run of `cols` floats; consecutive rows sit `srcStride` / `dstStride` floats apart.
// Long rows go to memory.copy (the engine's memmove); short ones (a few channels per pixel, where a
// bulk-memory call per row would dominate) are copied with v128 loads and stores and a scalar tail.

/** Rows at or above this many bytes use memory.copy. */
const BULK_BYTES: usize = 64;

/**
 * dst[r·dstStride + c] = src[r·srcStride + c] for r < rows, c < cols (element strides, f32).
 * src and dst ranges must not overlap (they are distinct tensors).
 */
export function copy_rows_f32(src: usize, srcStride: i32, dst: usize, dstStride: i32, rows: i32, cols: i32): void {
  const bytes = <usize>cols << 2;
  const sStep = <usize>srcStride << 2, dStep = <usize>dstStride << 2;
  if (bytes >= BULK_BYTES || !ASC_FEATURE_SIMD) {
    if (sStep == bytes && dStep == bytes) {
      memory.copy(dst, src, bytes * <usize>rows);
      return;
    }
    for (let r = 0; r < rows; r++) memory.copy(dst + <usize>r * dStep, src + <usize>r * sStep, bytes);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * sStep, d = dst + <usize>r * dStep;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= cols; c += 4) {
        const o = <usize>c << 2;
        v128.store(d + o, v128.load(s + o));
      }
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(d + o, load<f32>(s + o));
    }
  }
}
