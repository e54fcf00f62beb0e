import { igemm_f32_4x8 } from './gemm/igemm';
import { conv2d_nhwc_f32_depthwise } from './conv';
import {
  swish_f32, sigmoid_f32, tanh_f32, gelu_f32, elu_f32, selu_f32, leaky_relu_f32, hard_sigmoid_f32, hard_swish_f32,
} from './activation';

// Convolutions with an activation that is not a store clamp (silu, sigmoid, ...) fused: the
// convolution runs on a chunk of output rows, then the activation on those rows while they are
// still in cache, instead of a second pass over the whole output. Each row's numbers are exactly
// those of the convolution kernel followed by the activation kernel (rows are independent, and
// the activation kernels are elementwise with bit-identical vector and scalar paths), so chunking,
// threads and builds do not change a bit. src/ops/conv.ts picks these; activation ids are
// src/ops/activation.ts's EPILOGUE_IDS.

/** Floats of output per chunk: about 16 KiB, in L1 next to the kernel's inputs. */
const CHUNK_FLOATS = 4096;

/** act(y) in place on n floats at p; `act` an EPILOGUE_IDS id (0: nothing). */
export function activate_f32(act: i32, p: usize, n: i32, alpha: f32, beta: f32): void {
  switch (act) {
    case 1: swish_f32(p, p, n); break;
    case 2: sigmoid_f32(p, p, n); break;
    case 3: tanh_f32(p, p, n); break;
    case 4: gelu_f32(p, p, n); break;
    case 5: elu_f32(p, p, n, alpha); break;
    case 6: selu_f32(p, p, n); break;
    case 7: leaky_relu_f32(p, p, n, alpha); break;
    case 8: hard_sigmoid_f32(p, p, n, alpha, beta); break;
    case 9: hard_swish_f32(p, p, n); break;
    default: break;
  }
}

/** Rows per chunk for rows of `n` floats: a multiple of 4 (the GEMM's row tile). */
// @ts-ignore: decorator
@inline function chunkRows(n: i32): i32 {
  return max(4, (CHUNK_FLOATS / max(n, 1)) & ~3);
}

/** Activate rows m0 .. m1−1 (n floats each at y + outInd[m]). */
// @ts-ignore: decorator
@inline function activateRows(y: usize, outInd: usize, m0: i32, m1: i32, n: i32, act: i32, alpha: f32, beta: f32): void {
  for (let m = m0; m < m1; m++) activate_f32(act, y + <usize>load<i32>(outInd + (<usize>m << 2)), n, alpha, beta);
}

/** igemm_f32_4x8 (no clamp) then act on each output row's N floats, chunk by chunk. */
export function igemm_f32_4x8_act(
  M: i32, N: i32, K: i32, T: i32,
  x: usize, ind: usize, zero: usize, w: usize,
  y: usize, outInd: usize, act: i32, alpha: f32, beta: f32,
): void {
  const rows = chunkRows(N);
  for (let m0 = 0; m0 < M; m0 += rows) {
    const m1 = min(M, m0 + rows);
    igemm_f32_4x8(m1 - m0, N, K, T, x, ind + ((<usize>m0 * <usize>T) << 2), zero, w, y, outInd + (<usize>m0 << 2), -Infinity, Infinity);
    activateRows(y, outInd, m0, m1, N, act, alpha, beta);
  }
}

/** conv2d_nhwc_f32_depthwise (no clamp) then act on each output row's C floats, chunk by chunk. */
export function conv2d_nhwc_f32_depthwise_act(
  M: i32, C: i32, T: i32, x: usize, ind: usize, w: usize,
  y: usize, outInd: usize, act: i32, alpha: f32, beta: f32,
): void {
  const rows = chunkRows(C);
  for (let m0 = 0; m0 < M; m0 += rows) {
    const m1 = min(M, m0 + rows);
    conv2d_nhwc_f32_depthwise(m1 - m0, C, T, x, ind + ((<usize>m0 * <usize>T) << 2), w, y, outInd + (<usize>m0 << 2), -Infinity, Infinity);
    activateRows(y, outInd, m0, m1, C, act, alpha, beta);
  }
}
