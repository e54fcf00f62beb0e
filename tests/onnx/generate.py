#!/usr/bin/python3
"""Export small PyTorch CNNs to ONNX for simdcnn's importer tests (and, with --bench, torchvision's).

Run from the repository root with Debian's python3-torch 1.13 / python3-torchvision 0.14 / python3-onnx:

    /usr/bin/python3 tests/onnx/generate.py           # small models → tests/golden/onnx/ (committed)
    /usr/bin/python3 tests/onnx/generate.py --bench   # torchvision models → bench/models/ (git-ignored)

For each model <name> it writes:
  <name>.onnx         the exported model (NCHW input, as PyTorch exports it)
  <name>.input.bin    the input, float32 little-endian, NCHW, row-major
  <name>.output.bin   PyTorch's output for that input, float32 little-endian, row-major
  <name>.json         { "opset", "input": {"name", "shape"}, "output": {"name", "shape"}, "dynamicBatch", ... }

Weights are drawn from torch.manual_seed(0) (BatchNorm statistics too, so folding them is a real
test), and every model runs in eval mode. CI never runs this script: its outputs are committed.
"""

import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class LeNet(nn.Module):
    """LeNet-like; `x.view(x.size(0), -1)` is what makes PyTorch emit the Shape/Gather/Unsqueeze/Concat chain."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 5)
        self.conv2 = nn.Conv2d(4, 8, 5)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def conv_bn(cin, cout, k=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout))


class Residual(nn.Module):
    """conv-BN-ReLU stem, one ResNet basic block (identity shortcut), Flatten + Linear head."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 8)
        self.a = conv_bn(8, 8)
        self.b = conv_bn(8, 8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = self.b(F.relu(self.a(x)))
        x = F.relu(x + y)
        x = self.pool(x)
        return self.fc(torch.flatten(x, 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)

    def forward(self, x):
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return x * s


class Separable(nn.Module):
    """MobileNetV3-like: conv/2 + ReLU6, depthwise 3×3 + HardSwish, squeeze-excitation, pointwise, head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 2, 1)
        self.dw = nn.Conv2d(8, 8, 3, 1, 1, groups=8)
        self.se = SqueezeExcite(8, 4)
        self.pw = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu6(self.stem(x))
        x = F.hardswish(self.dw(x))
        x = self.se(x)
        x = self.pw(x)
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class Inception(nn.Module):
    """Four branches concatenated on channels, MaxPool with ceil_mode, AvgPool, softmax head."""

    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(4, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(4, 3, 1), nn.ReLU(), nn.Conv2d(3, 6, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU(), nn.Conv2d(2, 3, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(4, 3, 1))
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avg = nn.AvgPool2d(2, 2, padding=1, count_include_pad=False)
        self.fc = nn.Linear(16 * 3 * 3, 10)

    def forward(self, x):
        x = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
        x = self.avg(self.pool(F.relu(x)))
        x = x.view(x.size(0), -1)
        return F.softmax(self.fc(x), dim=1)


class Decoder(nn.Module):
    """Nearest and bilinear upsampling, a ConvTranspose with output_padding, a sigmoid output map."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 6, 3, padding=1)
        self.up = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
        self.out = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        x = F.leaky_relu(self.conv(x), 0.1)
        x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
        x = torch.tanh(self.up(x))
        x = F.interpolate(x, size=(30, 30), mode='bilinear', align_corners=True)
        return torch.sigmoid(self.out(x))


class MBConv(nn.Module):
    """EfficientNet-like: SiLU stem, 1×1 expansion + BN + SiLU, depthwise 5×5/2 + SiLU, squeeze-excitation
    (SiLU, sigmoid), 1×1 projection, a stride-1 block with a residual, SiLU head."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 6, 3, 2)
        self.expand = conv_bn(6, 10, 1)
        self.dw = nn.Sequential(nn.Conv2d(10, 10, 5, 2, 2, groups=10, bias=False), nn.BatchNorm2d(10))
        self.se1 = nn.Conv2d(10, 3, 1)
        self.se2 = nn.Conv2d(3, 10, 1)
        self.project = conv_bn(10, 5, 1)
        self.dw2 = nn.Sequential(nn.Conv2d(5, 5, 3, 1, 1, groups=5, bias=False), nn.BatchNorm2d(5))
        self.head = nn.Conv2d(5, 12, 1)
        self.fc = nn.Linear(12, 7)

    def forward(self, x):
        x = F.silu(self.stem(x))
        x = F.silu(self.dw(F.silu(self.expand(x))))
        s = F.adaptive_avg_pool2d(x, 1)
        x = x * torch.sigmoid(self.se2(F.silu(self.se1(s))))
        x = self.project(x)
        x = x + F.silu(self.dw2(x))
        x = F.silu(self.head(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# name, module, input shape (NCHW), opset, dynamic batch
SMALL = [
    ('lenet', LeNet, [2, 1, 28, 28], 11, True),
    ('residual', Residual, [2, 3, 8, 8], 13, False),
    ('separable', Separable, [1, 3, 16, 16], 17, False),
    ('inception', Inception, [2, 4, 11, 11], 11, True),
    ('decoder', Decoder, [1, 8, 4, 4], 13, False),
    ('mbconv', MBConv, [2, 3, 13, 13], 13, True),
]


def randomise_bn(model, gen):
    """Non-trivial BatchNorm parameters and running statistics (the defaults would make folding a no-op)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def export(name, model, shape, opset, dynamic_batch, outdir, keep_bn=True):
    gen = torch.Generator().manual_seed(1)
    randomise_bn(model, gen)
    model.eval()
    x = torch.rand(*shape, generator=gen) * 2 - 1
    with torch.no_grad():
        y = model(x)
    path = os.path.join(outdir, name + '.onnx')
    torch.onnx.export(
        model, x, path, opset_version=opset, input_names=['input'], output_names=['output'],
        dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}} if dynamic_batch else None,
        # PRESERVE (model already in eval mode) skips the exporter's eval peephole, which would fuse
        # Conv+BatchNorm itself: the importer's own folding pass is what the tests exercise.
        training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL,
        do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    x.numpy().astype('<f4').tofile(os.path.join(outdir, name + '.input.bin'))
    y.numpy().astype('<f4').tofile(os.path.join(outdir, name + '.output.bin'))
    meta = {
        'opset': opset,
        'input': {'name': 'input', 'shape': list(x.shape)},
        'output': {'name': 'output', 'shape': list(y.shape)},
        'dynamicBatch': dynamic_batch,
        'ops': sorted({n.op_type for n in onnx.load(path).graph.node}),
    }
    with open(os.path.join(outdir, name + '.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')
    print(f'{path}: {os.path.getsize(path)} bytes, opset {opset}, ops {meta["ops"]}')


def main():
    torch.manual_seed(0)
    if '--bench' in sys.argv:
        import torchvision.models as tv
        outdir = os.path.join(ROOT, 'bench', 'models')
        os.makedirs(outdir, exist_ok=True)
        models = [
            ('resnet18', lambda: tv.resnet18()),
            ('mobilenet_v2', lambda: tv.mobilenet_v2()),
            ('squeezenet1_1', lambda: tv.squeezenet1_1()),
            ('googlenet', lambda: tv.googlenet(aux_logits=False, init_weights=True)),
        ]
        if hasattr(tv, 'efficientnet_b0'):
            models.append(('efficientnet_b0', lambda: tv.efficientnet_b0()))
        else:
            print('torchvision has no efficientnet_b0: skipped')
        for name, make in models:
            torch.manual_seed(0)
            export(name, make(), [1, 3, 224, 224], 13, False, outdir)
        return
    outdir = os.path.join(ROOT, 'tests', 'golden', 'onnx')
    os.makedirs(outdir, exist_ok=True)
    only = [a for a in sys.argv[1:] if not a.startswith('--')]
    for name, cls, shape, opset, dyn in SMALL:
        if only and name not in only:
            continue
        torch.manual_seed(0)
        export(name, cls(), shape, opset, dyn, outdir)


if __name__ == '__main__':
    main()
