// Temporary stub, replaced by the real op.
import type { Tensor } from '../tensor.js';
export function batchNorm(x: Tensor, o: { mean: Tensor; variance: Tensor; gamma?: Tensor; beta?: Tensor; epsilon?: number }): Tensor { void x; void o; throw new Error('stub'); }
export function batchNormTrain(x: Tensor, o: { gamma?: Tensor; beta?: Tensor; epsilon?: number }): { output: Tensor; mean: Tensor; variance: Tensor; invStd: Tensor } { void x; void o; throw new Error('stub'); }
export function batchNormBackward(dy: Tensor, x: Tensor, o: { gamma?: Tensor; mean: Tensor; invStd: Tensor }): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } { void x; void o; void dy; throw new Error('stub'); }
