import { copy_rows_f32 } from './concat';

// Constant padding of NHWC images (zeroPadding2d, ONNX Pad on H and W) and its gradient, a crop.

/**
 * x: [N, H, W, C] → y: [N, top + H + bottom, left + W + right, C], the border filled with `value`
 * (NHWC). Each output row is written once: fill, copy of the input row, fill.
 */
export function pad2d_nhwc_f32(x: usize, y: usize, N: i32, H: i32, W: i32, C: i32, top: i32, bottom: i32, left: i32, right: i32, value: f32): void {
  const OH = top + H + bottom, OW = left + W + right;
  const rowIn = <usize>W * <usize>C, rowOut = <usize>OW * <usize>C;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const yr = y + ((<usize>n * <usize>OH + <usize>oy) * rowOut << 2);
      const iy = oy - top;
      if (iy < 0 || iy >= H) {
        fillRun(yr, <i32>rowOut, value);
        continue;
      }
      fillRun(yr, left * C, value);
      copy_rows_f32(x + ((<usize>n * <usize>H + <usize>iy) * rowIn << 2), 0, yr + (<usize>(left * C) << 2), 0, 1, <i32>rowIn);
      fillRun(yr + ((<usize>(left * C) + rowIn) << 2), right * C, value);
    }
  }
}

/**
 * The gradient of pad2d (a crop): dy: [N, OH, OW, C] → dx: [N, H, W, C] = dy[:, top:top+H, left:left+W, :].
 */
export function pad2d_nhwc_f32_backward(dy: usize, dx: usize, N: i32, H: i32, W: i32, C: i32, top: i32, left: i32, OH: i32, OW: i32): void {
  const rowIn = W * C, rowOut = OW * C;
  for (let n = 0; n < N; n++) {
    const src = dy + (((<usize>n * <usize>OH + <usize>top) * <usize>OW + <usize>left) * <usize>C << 2);
    copy_rows_f32(src, rowOut, dx + (<usize>n * <usize>H * <usize>rowIn << 2), rowIn, H, rowIn);
  }
}

// @ts-ignore: decorator
@inline function fillRun(p: usize, n: i32, v: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vv = f32x4.splat(v);
    for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), vv);
  }
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), v);
}
