// The models the Train view offers. The worker builds them; the page only shows their names. All
// take 28×28×1 digits standardised as in preprocess.ts and end in 10 logits; all are chains, so the
// draw view can run them layer by layer and show the first two convolutions' maps.
import { input, layers, lenet5, model, type Model } from '../src/index.ts';

export interface ModelChoice {
  label: string;
  /** One line for the menu: what it is and why it is there. */
  about: string;
  build: (seed: number) => Model;
}

/** conv 3×3 'same' → ReLU → max-pool 2, as a function of a symbolic tensor. */
function convReluPool(filters: number) {
  const conv = layers.conv2d({ filters, kernelSize: 3, padding: 'same' });
  const relu = layers.relu();
  const pool = layers.maxPool2d({ poolSize: 2 });
  return (x: ReturnType<typeof input>) => pool.apply(relu.apply(conv.apply(x)));
}

export const MODELS = {
  lenet5: {
    label: 'LeNet-5',
    about: 'conv 5×5×6 → pool → conv 5×5×16 → pool → dense 120 → 84 → 10 (61,706 parameters; the shipped model)',
    build: (seed) => lenet5({ seed }),
  },
  small: {
    label: 'Small 3×3 CNN',
    about: '2 × (conv 3×3 → ReLU → pool), 8 then 16 filters → dense 10 (9,098 parameters): a seventh of LeNet-5',
    build: (seed) => {
      const x = input({ shape: [28, 28, 1] });
      const h = convReluPool(16)(convReluPool(8)(x));
      return model({ inputs: x, outputs: layers.dense({ units: 10 }).apply(layers.flatten().apply(h)), name: 'small_cnn', seed });
    },
  },
  mlp: {
    label: 'MLP 784-128-10',
    about: 'no convolution at all: flatten → dense 128 ReLU → dense 10 (101,770 parameters), for comparison',
    build: (seed) => {
      const x = input({ shape: [28, 28, 1] });
      const h = layers.dense({ units: 128, activation: 'relu' }).apply(layers.flatten().apply(x));
      return model({ inputs: x, outputs: layers.dense({ units: 10 }).apply(h), name: 'mlp', seed });
    },
  },
} satisfies Record<string, ModelChoice>;

export type ModelKey = keyof typeof MODELS;

export const isModelKey = (k: unknown): k is ModelKey => typeof k === 'string' && Object.hasOwn(MODELS, k);
