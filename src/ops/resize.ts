// Temporary stub, replaced by the real op.
import type { Tensor } from '../tensor.js';
type O = { size: [number, number]; interpolation: 'nearest' | 'bilinear'; alignCorners: boolean };
export function upSampling2d(x: Tensor, o: O): Tensor { void x; void o; throw new Error('stub'); }
export function upSampling2dBackward(x: Tensor, s: readonly number[], o: O): Tensor { void x; void o; void s; throw new Error('stub'); }
