// simdcnn: the public API. Every export is named; all ops are synchronous after `await init()`.
export { init, backend, type Backend, type InitOptions } from './runtime/wasm.js';
export { Tensor, tensor, zeros, fill, tidy, keep, memoryStats, type DType, type TensorData } from './tensor.js';
export { SimdcnnError, ShapeError, ArgumentError, DTypeError, DisposedError, OutOfMemoryError, InitError } from './errors.js';
