// Temporary stub, replaced by the real op.
import type { Tensor } from '../tensor.js';
export function pad2d(x: Tensor, o: { padding: [[number, number], [number, number]] }): Tensor { void x; void o; throw new Error('stub'); }
export function pad2dBackward(x: Tensor, s: readonly number[], o: { padding: [[number, number], [number, number]] }): Tensor { void x; void o; void s; throw new Error('stub'); }
