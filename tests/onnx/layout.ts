// NCHW ↔ NHWC for the ONNX tests (PyTorch's tensors are NCHW; simdcnn's NHWC).
export function nchwToNhwc(a: ArrayLike<number>, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    out[((n * H + h) * W + w) * C + c] = a[((n * C + c) * H + h) * W + w];
  }
  return out;
}

export function nhwcToNchw(a: ArrayLike<number>, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    out[((n * C + c) * H + h) * W + w] = a[((n * H + h) * W + w) * C + c];
  }
  return out;
}
