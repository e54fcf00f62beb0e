// simdcnn: the public API. Every export is named; all ops are synchronous after `await init()`.
export { init, backend, type Backend, type InitOptions } from './runtime/wasm.js';
export { Tensor, tensor, zeros, fill, tidy, keep, memoryStats, type DType, type TensorData } from './tensor.js';
export { SimdcnnError, ShapeError, ArgumentError, DTypeError, DisposedError, OutOfMemoryError, InitError, FormatError } from './errors.js';
export { conv2d, conv1d, conv2dTranspose, locallyConnected2d, type Conv2dOptions, type Conv1dOptions, type Conv2dTransposeOptions, type LocallyConnected2dOptions } from './ops/conv.js';
export { dense, flatten, type DenseOptions } from './ops/dense.js';
export { maxPool2d, avgPool2d, lpPool2d, mixedPool2d, globalAvgPool2d, globalMaxPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d, type MaxPool2dOptions, type AvgPool2dOptions, type LpPool2dOptions, type MixedPool2dOptions, type GlobalPool2dOptions, type AdaptiveAvgPool2dOptions, type AdaptiveMaxPool2dOptions, type PoolWithIndices, type PoolPadding } from './ops/pool.js';
export { relu, leakyRelu, prelu, elu, selu, sigmoid, tanh, swish, gelu, softmax, logSoftmax, maxout, type Activation, type ActivationName } from './ops/activation.js';
export { conv2dBackpropInput, conv2dBackpropFilter, conv1dBackpropInput, conv1dBackpropFilter, conv2dTransposeBackpropInput, conv2dTransposeBackpropFilter, locallyConnected2dBackpropInput, locallyConnected2dBackpropFilter, denseBackpropInput, denseBackpropFilter, biasGrad } from './ops/conv-backprop.js';
export { parseIdx, encodeIdx, DataError, type IdxData, type IdxDType, type IdxArray } from './data/idx.js';
export { mnistFromIdx, toTensors, type MnistSet, type MnistFiles, type ToTensorsOptions } from './data/mnist.js';
export * as optimizers from './optimizers.js'; export type { Optimizer, OptimizerName, OptimizerConfig, OptimizerState, SgdOptions, AdagradOptions, RmspropOptions, AdamOptions } from './optimizers.js';
export { softmaxCrossEntropy, hinge, contrastive, triplet, klDivergence, meanSquaredError, accuracy, type LossResult, type LossOptions, type LossFunction, type Reduction, type SoftmaxCrossEntropyOptions, type HingeOptions, type ContrastiveOptions, type TripletOptions } from './losses.js';
export { Sequential, sequential, loadModel, type SequentialOptions, type CompileOptions, type FitOptions, type History, type EpochLogs, type BatchLogs, type SavedModel, type MemoryReport, type LossName } from './model/sequential.js';
export { layers, Layer } from './layers/index.js';
export { maxPool2dBackward, avgPool2dBackward, adaptiveAvgPool2dBackward, globalAvgPool2dBackward, globalMaxPool2dBackward, lpPool2dBackward, mixedPool2dBackward } from './ops/pool-backprop.js';
export { reluBackward, leakyReluBackward, preluBackward, eluBackward, seluBackward, sigmoidBackward, tanhBackward, swishBackward, geluBackward, softmaxBackward, logSoftmaxBackward, maxoutBackward, activationBackward, type PreluGrads } from './ops/activation-backprop.js';
export { lenet5, type LeNet5Options } from './model/zoo.js';
