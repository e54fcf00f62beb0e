// Temporary stub, replaced by the real op.
import type { Tensor } from '../tensor.js';
export function concat(xs: Tensor[], o: { axis?: number }): Tensor { void xs; void o; throw new Error('stub'); }
export function split(x: Tensor, sizes: number[], o: { axis?: number }): Tensor[] { void x; void sizes; void o; throw new Error('stub'); }
