// Read tests/golden/goldens.json (see its README): arrays with non-finite values encoded as strings.
import goldens from './goldens.json';
import { tensor, type Tensor } from '../../src/index.ts';

export interface GoldenArray { shape: number[]; dtype: 'float32' | 'int32'; data: Array<number | string> }
export interface GoldenCase {
  name: string;
  op: string;
  options: Record<string, unknown>;
  inputs: Record<string, GoldenArray>;
  outputs: Record<string, GoldenArray>;
}

export const cases = (goldens as unknown as { cases: GoldenCase[] }).cases;

/** Numbers, with "NaN" / "Infinity" / "-Infinity" decoded. */
export function values(a: GoldenArray): number[] {
  return a.data.map((v) => (typeof v === 'number' ? v : Number(v)));
}

/** A tensor holding a golden array. */
export function toTensor(a: GoldenArray): Tensor {
  return tensor(values(a), a.shape, a.dtype);
}
