// The indirection of a convolution geometry (src/ops/pack.ts, plan): for each of the M = N·OH·OW
// output pixels, T = KH·KW input byte offsets (−1 where the tap falls in the padding, or in a
// transposed convolution's stride holes) at ind, and the pixel's output byte offset at out. Built
// once per geometry and cached; a wasm loop because the first inference of a network builds one
// per layer (EfficientNet-B0: 2.3M entries) and JavaScript spent ~90 ms on them.
//
// Row order: plain convolutions image by image, output pixels row-major; transposed ones group each
// image's output pixels by stride phase (py, px), so the four rows of a GEMM tile share their live
// taps and the kernel skips the taps that fall in the stride's holes. The offsets are i32 (wrapping
// like the Int32Array stores they replace).

export function conv_indirection_i32(
  ind: usize, out: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, Cout: i32,
  KH: i32, KW: i32, sy: i32, sx: i32, dy: i32, dx: i32, pt: i32, pl: i32, transposed: i32,
): void {
  const T = KH * KW;
  let m = 0;
  for (let n = 0; n < N; n++) {
    if (!transposed) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          const row = ind + (<usize>m * <usize>T << 2);
          for (let ky = 0; ky < KH; ky++) {
            const iy = oy * sy - pt + ky * dy;
            for (let kx = 0; kx < KW; kx++) {
              const ix = ox * sx - pl + kx * dx;
              const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
              store<i32>(row + (<usize>(ky * KW + kx) << 2), inside ? ((n * H + iy) * W + ix) * C * 4 : -1);
            }
          }
          store<i32>(out + (<usize>m << 2), ((n * OH + oy) * OW + ox) * Cout * 4);
          m++;
        }
      }
    } else {
      for (let py = 0; py < sy; py++) {
        for (let px = 0; px < sx; px++) {
          for (let oy = py; oy < OH; oy += sy) {
            for (let ox = px; ox < OW; ox += sx) {
              const row = ind + (<usize>m * <usize>T << 2);
              for (let ky = 0; ky < KH; ky++) {
                // Output row oy receives from input row iy where oy = iy·s − pt + ky·d.
                const ny = oy + pt - ky * dy;
                const iy = ny % sy == 0 ? ny / sy : -1;
                for (let kx = 0; kx < KW; kx++) {
                  const nx = ox + pl - kx * dx;
                  const ix = nx % sx == 0 ? nx / sx : -1;
                  const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
                  store<i32>(row + (<usize>(ky * KW + kx) << 2), inside ? ((n * H + iy) * W + ix) * C * 4 : -1);
                }
              }
              store<i32>(out + (<usize>m << 2), ((n * OH + oy) * OW + ox) * Cout * 4);
              m++;
            }
          }
        }
      }
    }
  }
}
