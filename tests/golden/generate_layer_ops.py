#!/usr/bin/python3
"""PyTorch goldens for the ops behind the BatchNormalization and UpSampling2D layers.

Run from the repository root (needs Debian's python3-torch):

    /usr/bin/python3 tests/golden/generate_layer_ops.py

Writes tests/golden/layer_ops.json in the format of goldens.json (see README.md): arrays
flattened row-major in simdcnn's NHWC layout, float32 inputs written exactly, float outputs
float64 references computed by torch from those inputs, torch.manual_seed(0).

Cases:
  * batchNorm (op "batchNorm"): nn.BatchNorm2d in eval mode with random running statistics.
  * batchNormTrain (op "batchNormTrain"): nn.BatchNorm2d in train mode; outputs the normalised
    y, the batch mean, the biased batch variance, invStd = 1/sqrt(var + eps), and, by autograd of
    sum(y * dy), dx, dgamma (weight.grad) and dbeta (bias.grad). inputs.dy is that dy.
  * upSampling2d (op "upSampling2d"): F.interpolate with an integer scale_factor, modes nearest and
    bilinear (align_corners False and True); outputs y and dx = autograd of sum(y * dy).
Channel counts 1, 3, 4, 5, 8, 17 (batch norm) and 1, 3, 4, 6 (upsampling), batch 1..3, odd H/W.
Each case is also recomputed by plain numpy on the NHWC arrays (rtol/atol 1e-10).
"""

import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate as fwd  # noqa: E402  (helpers only)

torch.set_grad_enabled(True)
torch.manual_seed(0)
OUT = os.path.join(HERE, "layer_ops.json")
CASES = []
nchw = fwd.nhwc_to_nchw
nhwc = fwd.nchw_to_nhwc


def close(name, got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"{name}: shape {got.shape} vs {ref.shape}"
    assert np.allclose(got, ref, rtol=1e-10, atol=1e-10), f"{name}: max diff {np.max(np.abs(got - ref))}"


def batchnorm_cases():
    shapes = [(1, 3, 5, 1), (2, 5, 3, 3), (3, 3, 3, 4), (1, 7, 5, 5), (2, 3, 5, 8), (3, 5, 1, 17), (2, 1, 1, 3), (1, 9, 7, 4)]
    for i, (N, H, W, C) in enumerate(shapes):
        eps = [1e-3, 1e-5][i % 2]
        affine = i != 3
        # An offset mean in some cases, so a one-pass variance would be caught.
        offset = 50.0 if i in (4, 7) else 0.0
        x = (fwd.randn(N, H, W, C) * (1 + i % 3) + offset).float().double()
        dy = fwd.randn(N, H, W, C)
        gamma = fwd.randn(C) if affine else None
        beta = fwd.randn(C) if affine else None
        tag = f"{N}x{H}x{W}x{C}_eps{eps:g}" + ("" if affine else "_noaffine") + ("_offset" if offset else "")

        bn = torch.nn.BatchNorm2d(C, eps=eps, affine=affine).double().train()
        if affine:
            with torch.no_grad():
                bn.weight.copy_(gamma)
                bn.bias.copy_(beta)
        xl = nchw(x).clone().requires_grad_(True)
        y = bn(xl)
        gx, *gp = torch.autograd.grad((y * nchw(dy)).sum(), [xl] + ([bn.weight, bn.bias] if affine else []))
        mean = x.reshape(-1, C).mean(0)
        var = x.reshape(-1, C).var(0, unbiased=False)
        inv = 1 / torch.sqrt(var + eps)
        # numpy: the textbook formulas on the NHWC data.
        xa, ga = x.numpy().reshape(-1, C), dy.numpy().reshape(-1, C)
        M = xa.shape[0]
        mu = xa.mean(0)
        va = ((xa - mu) ** 2).mean(0)
        iv = 1 / np.sqrt(va + eps)
        xh = (xa - mu) * iv
        g = gamma.numpy() if affine else np.ones(C)
        b = beta.numpy() if affine else np.zeros(C)
        close(tag, nhwc(y.detach()).numpy().reshape(-1, C), xh * g + b)
        dxa = g * iv / M * (M * ga - ga.sum(0) - xh * (ga * xh).sum(0))
        close(tag + " dx", nhwc(gx).numpy().reshape(-1, C), dxa)
        outputs = {"output": (nhwc(y.detach()), "float32"), "mean": (mean, "float32"), "variance": (var, "float32"),
                   "invStd": (inv, "float32"), "dx": (nhwc(gx), "float32")}
        if affine:
            close(tag + " dgamma", gp[0], (ga * xh).sum(0))
            close(tag + " dbeta", gp[1], ga.sum(0))
            outputs["dgamma"] = (gp[0], "float32")
            outputs["dbeta"] = (gp[1], "float32")
        inputs = {"x": (x, "float32"), "dy": (dy, "float32")}
        if affine:
            inputs["gamma"] = (gamma, "float32")
            inputs["beta"] = (beta, "float32")
        fwd.add(f"batchNormTrain/{tag}", "batchNormTrain", {"epsilon": eps}, inputs, outputs)

        # Eval mode with random running statistics (positive variances).
        rm = (fwd.randn(C) + offset).float().double()
        rv = (torch.rand(C, dtype=torch.float32) * 2 + 0.1).float().double()
        bn.eval()
        with torch.no_grad():
            bn.running_mean.copy_(rm)
            bn.running_var.copy_(rv)
            ye = nhwc(bn(nchw(x)))
        close(tag + " eval", ye.numpy().reshape(-1, C), (xa - rm.numpy()) / np.sqrt(rv.numpy() + eps) * g + b)
        inputs = {"x": (x, "float32"), "mean": (rm, "float32"), "variance": (rv, "float32")}
        if affine:
            inputs["gamma"] = (gamma, "float32")
            inputs["beta"] = (beta, "float32")
        fwd.add(f"batchNorm/{tag}", "batchNorm", {"epsilon": eps}, inputs, {"output": (ye, "float32")})


def np_upsample(x, sh, sw, mode, align):
    """Direct loops on NHWC: nearest (floor(dst / s)) or bilinear with PyTorch's source coordinates."""
    N, H, W, C = x.shape
    OH, OW = H * sh, W * sw
    y = np.zeros((N, OH, OW, C))

    def src(o, size, out, s):
        if align:
            return 0.0 if out == 1 else o * (size - 1) / (out - 1)
        return max((o + 0.5) / s - 0.5, 0.0)

    for oy in range(OH):
        for ox in range(OW):
            if mode == "nearest":
                y[:, oy, ox, :] = x[:, oy // sh, ox // sw, :]
                continue
            fy, fx = src(oy, H, OH, sh), src(ox, W, OW, sw)
            y0, x0 = int(np.floor(fy)), int(np.floor(fx))
            y1, x1 = min(y0 + 1, H - 1), min(x0 + 1, W - 1)
            ly, lx = fy - y0, fx - x0
            y[:, oy, ox, :] = ((1 - ly) * ((1 - lx) * x[:, y0, x0, :] + lx * x[:, y0, x1, :])
                               + ly * ((1 - lx) * x[:, y1, x0, :] + lx * x[:, y1, x1, :]))
    return y


def upsample_cases():
    # (shape, scales): every channel count meets every scale in some mode; sizes kept small for the file.
    plan = [((1, 3, 5, 1), [(2, 2), (3, 3), (2, 3)]), ((2, 3, 3, 3), [(2, 2), (2, 3)]), ((1, 1, 1, 4), [(2, 2), (3, 3), (2, 3)]),
            ((3, 1, 3, 6), [(3, 3), (2, 3)]), ((1, 5, 3, 4), [(2, 2), (3, 3)]), ((2, 2, 1, 3), [(3, 3)]), ((1, 3, 3, 6), [(2, 2)])]
    for i, ((N, H, W, C), scales) in enumerate(plan):
        for j, (sh, sw) in enumerate(scales):
            for mode, align in [("nearest", None), ("bilinear", False), ("bilinear", True)]:
                x = fwd.randn(N, H, W, C)
                dy = fwd.randn(N, H * sh, W * sw, C)
                xl = nchw(x).clone().requires_grad_(True)
                kw = {} if mode == "nearest" else {"align_corners": align}
                y = F.interpolate(xl, scale_factor=(sh, sw), mode=mode, **kw)
                (gx,) = torch.autograd.grad((y * nchw(dy)).sum(), [xl])
                y, gx = nhwc(y.detach()), nhwc(gx)
                close(f"upsample {mode} {align}", y.numpy(), np_upsample(x.numpy(), sh, sw, mode, align))
                size = sh if sh == sw else [sh, sw]
                opts = {"size": size, "interpolation": mode}
                if mode == "bilinear":
                    opts["alignCorners"] = align
                tag = f"{mode}{'_align' if align else ''}_{N}x{H}x{W}x{C}_s{sh}x{sw}"
                fwd.add(f"upSampling2d/{tag}", "upSampling2d", opts, {"x": (x, "float32"), "dy": (dy, "float32")},
                        {"output": (y, "float32"), "dx": (gx, "float32")})


def main():
    global CASES
    fwd.CASES.clear()
    batchnorm_cases()
    upsample_cases()
    CASES = fwd.CASES
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"], capture_output=True, text=True).stdout.strip()
    doc = {
        "generator": f"tests/golden/generate_layer_ops.py: torch {torch.__version__} (Debian python3-torch {deb}), "
                     f"numpy {np.__version__}, float64 reference on float32 inputs, torch.manual_seed(0)",
        "note": ("batchNorm / batchNormTrain: nn.BatchNorm2d eval / train mode, NHWC; batchNormTrain's dx, dgamma, dbeta "
                 "are autograd of sum(output * dy). upSampling2d: F.interpolate with integer scale_factor; dx is autograd "
                 "of sum(output * dy). Inputs are float32 values; outputs float64."),
        "cases": CASES,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(OUT)
    print(f"wrote {OUT}: {len(CASES)} cases, {size} bytes")
    assert size < 600_000, "layer_ops.json too large"


if __name__ == "__main__":
    main()
