import { ArgumentError } from '../errors.js';
import { layers } from '../layers/index.js';
import type { Layer } from '../layers/layer.js';
import { sequential, type Sequential } from './sequential.js';

// Ready-made architectures, built with the same layers a user would write.

export interface LeNet5Options {
  /** Seed of the weight initialisation and of shuffling in fit (default 1). */
  seed?: number;
  /** Dropout rate between the dense layers, 0 for none (default 0). */
  dropout?: number;
}

/**
 * LeNet-5 (LeCun et al. 1998) for 28×28×1 digits, with ReLU and max pooling: conv 6@5×5 'same'
 * (the classic 32×32 input) → max-pool 2 → conv 16@5×5 → max-pool 2 → dense 120 → dense 84 →
 * dense 10 (logits), 61,706 parameters; optional dropout after the two hidden dense layers.
 */
export function lenet5(options: LeNet5Options = {}): Sequential {
  const rate = options.dropout ?? 0;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new ArgumentError(`lenet5: dropout must be in [0, 1), got ${JSON.stringify(options.dropout)}`);
  const drop = (): Layer[] => (rate > 0 ? [layers.dropout({ rate })] : []);
  return sequential({
    inputShape: [28, 28, 1],
    seed: options.seed,
    layers: [
      layers.conv2d({ filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      layers.maxPool2d({ poolSize: 2 }),
      layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      layers.maxPool2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 120, activation: 'relu' }),
      ...drop(),
      layers.dense({ units: 84, activation: 'relu' }),
      ...drop(),
      layers.dense({ units: 10 }),
    ],
  });
}
