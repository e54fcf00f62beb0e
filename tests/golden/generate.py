#!/usr/bin/python3
"""Generate PyTorch golden values for simdcnn's tests.

Run from the repository root (needs Debian's python3-torch):

    /usr/bin/python3 tests/golden/generate.py

Writes tests/golden/goldens.json. Every array is stored flattened in simdcnn's
own layout (row-major) together with its shape:

  * activations NHWC                      [N, H, W, C]
  * conv2d weights HWIO                   [KH, KW, Cin/groups, Cout]
  * conv2dTranspose weights               [KH, KW, Cout, Cin]  (TF conv2d_transpose filter)
  * max-pool indices, int32, flat offsets into the NHWC input ((n*H + y)*W + x)*C + c

Inputs are drawn in float32 (torch.manual_seed(0)) and the reference is
computed in float64 on exactly those values, so the float outputs are the
exact (double-rounded-once) results, not float32 results. Every case is also
recomputed independently with plain numpy loops directly on the NHWC/HWIO
arrays and compared, so the layout conversions are checked, not assumed.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_grad_enabled(False)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "goldens.json")

CASES = []


# ----------------------------------------------------------------------------
# helpers


def pair(v):
    if isinstance(v, (list, tuple)):
        assert len(v) == 2
        return int(v[0]), int(v[1])
    return int(v), int(v)


def randn(*shape):
    """float32 normal values, returned as a float64 tensor holding them exactly."""
    return torch.randn(*shape, dtype=torch.float32).double()


def randint(lo, hi, *shape):
    """integers in [lo, hi] as float64 (exactly representable in float32)."""
    return torch.randint(lo, hi + 1, shape).double()


def enc_float(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def arr(t, dtype="float32"):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    a = np.ascontiguousarray(a)
    if dtype == "int32":
        flat = a.reshape(-1)
        assert np.all(flat >= 0) and np.all(flat < 2**31)
        data = [int(v) for v in flat]
    else:
        data = [enc_float(v) for v in a.reshape(-1)]
    return {"shape": [int(s) for s in a.shape], "dtype": dtype, "data": data}


def check_input_f32(t):
    a = t.numpy()
    fin = np.isfinite(a)
    assert np.array_equal(a[fin].astype(np.float32).astype(np.float64), a[fin]), "input not float32-representable"


def assert_close(name, got, ref, what="y"):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{name}: {what} shape {got.shape} != numpy {ref.shape}"
    ok = np.allclose(got, ref, rtol=1e-12, atol=1e-12, equal_nan=True)
    if not ok:
        diff = np.nanmax(np.abs(got - ref))
        raise AssertionError(f"{name}: {what} differs from numpy reference (max abs diff {diff})")


def add(name, op, options, inputs, outputs, meta=None):
    for k, (t, dt) in inputs.items():
        if dt == "float32":
            check_input_f32(t)
    case = {
        "name": name,
        "op": op,
        "options": options,
        "inputs": {k: arr(t, dt) for k, (t, dt) in inputs.items()},
        "outputs": {k: arr(t, dt) for k, (t, dt) in outputs.items()},
    }
    if meta:
        case["meta"] = meta
    CASES.append(case)


def nhwc_to_nchw(x):
    return x.permute(0, 3, 1, 2).contiguous()


def nchw_to_nhwc(x):
    return x.permute(0, 2, 3, 1).contiguous()


def planar_to_nhwc_indices(idx_nchw, H, W):
    """PyTorch's per-(n, c) plane offsets y*W + x (NCHW tensor) -> our NHWC flat
    offsets ((n*H + y)*W + x)*C + c, returned in NHWC layout."""
    N, C, OH, OW = idx_nchw.shape
    idx = idx_nchw.long()
    y = idx // W
    x = idx % W
    n = torch.arange(N).view(N, 1, 1, 1)
    c = torch.arange(C).view(1, C, 1, 1)
    flat = ((n * H + y) * W + x) * C + c
    return nchw_to_nhwc(flat)


# ----------------------------------------------------------------------------
# padding rules


def conv_pads(padding, in_hw, k_hw, s_hw, d_hw):
    """Resolve conv2d padding to ((top, bottom), (left, right))."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if padding == "full":
        return tuple(((k - 1) * d, (k - 1) * d) for k, d in zip(k_hw, d_hw))
    if padding == "same":  # TensorFlow: out = ceil(in/s), odd extra at bottom/right
        res = []
        for i, k, s, d in zip(in_hw, k_hw, s_hw, d_hw):
            out = -(-i // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - i, 0)
            res.append((total // 2, total - total // 2))
        return tuple(res)
    (t, b), (l, r) = padding
    return ((t, b), (l, r))


def pool_pads(padding, in_hw, k_hw, s_hw):
    """Pooling padding: 0 | number | 'valid' | 'same' | pairs (no 'full')."""
    assert padding != "full"
    return conv_pads(padding, in_hw, k_hw, s_hw, (1, 1))


def pool_out_size(i, k, s, pb, pa, ceil_mode):
    """PyTorch's pooling output size (generalised to before/after pads)."""
    num = i + pb + pa - k
    if ceil_mode:
        out = -(-num // s) + 1
        # PyTorch: the last window must start inside the input or the left padding
        if (out - 1) * s >= i + pb:
            out -= 1
    else:
        out = num // s + 1
    return out


# ----------------------------------------------------------------------------
# numpy references (direct loops on NHWC / HWIO arrays)


def np_conv2d(x, w, bias, s, pads, d, groups, flip):
    N, H, W, C = x.shape
    KH, KW, Cg, O = w.shape
    assert C == Cg * groups and O % groups == 0
    if flip:
        w = w[::-1, ::-1, :, :]
    (pt, pb), (pl, pr) = pads
    OH = (H + pt + pb - (KH - 1) * d[0] - 1) // s[0] + 1
    OW = (W + pl + pr - (KW - 1) * d[1] - 1) // s[1] + 1
    og = O // groups
    y = np.zeros((N, OH, OW, O))
    for oy in range(OH):
        for ox in range(OW):
            for ky in range(KH):
                iy = oy * s[0] - pt + ky * d[0]
                if iy < 0 or iy >= H:
                    continue
                for kx in range(KW):
                    ix = ox * s[1] - pl + kx * d[1]
                    if ix < 0 or ix >= W:
                        continue
                    for g in range(groups):
                        y[:, oy, ox, g * og:(g + 1) * og] += (
                            x[:, iy, ix, g * Cg:(g + 1) * Cg] @ w[ky, kx, :, g * og:(g + 1) * og])
    if bias is not None:
        y += bias
    return y


def np_conv2d_transpose(x, w, bias, s, pads, d, op):
    """Scatter form: input pixel (iy, ix) adds w[ky, kx] @ x to output
    (iy*s - padTop + ky*d, ix*s - padLeft + kx*d)."""
    N, H, W, Ci = x.shape
    KH, KW, Co, Ci2 = w.shape
    assert Ci == Ci2
    (pt, pb), (pl, pr) = pads
    OH = (H - 1) * s[0] - pt - pb + d[0] * (KH - 1) + 1 + op[0]
    OW = (W - 1) * s[1] - pl - pr + d[1] * (KW - 1) + 1 + op[1]
    y = np.zeros((N, OH, OW, Co))
    for iy in range(H):
        for ix in range(W):
            for ky in range(KH):
                oy = iy * s[0] - pt + ky * d[0]
                if oy < 0 or oy >= OH:
                    continue
                for kx in range(KW):
                    ox = ix * s[1] - pl + kx * d[1]
                    if ox < 0 or ox >= OW:
                        continue
                    y[:, oy, ox, :] += x[:, iy, ix, :] @ w[ky, kx, :, :].T
    if bias is not None:
        y += bias
    return y


def np_max_pool(x, k, s, pads, ceil_mode):
    """First max in row-major window order wins; NaN wins (first NaN); padding never wins."""
    N, H, W, C = x.shape
    (pt, pb), (pl, pr) = pads
    OH = pool_out_size(H, k[0], s[0], pt, pb, ceil_mode)
    OW = pool_out_size(W, k[1], s[1], pl, pr, ceil_mode)
    y = np.zeros((N, OH, OW, C))
    idx = np.zeros((N, OH, OW, C), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oy in range(OH):
                for ox in range(OW):
                    best, bi = None, None
                    for ky in range(k[0]):
                        iy = oy * s[0] - pt + ky
                        if iy < 0 or iy >= H:
                            continue
                        for kx in range(k[1]):
                            ix = ox * s[1] - pl + kx
                            if ix < 0 or ix >= W:
                                continue
                            v = x[n, iy, ix, c]
                            if best is None or (not math.isnan(best) and (v > best or math.isnan(v))):
                                best, bi = v, ((n * H + iy) * W + ix) * C + c
                    assert best is not None, "window entirely in padding"
                    y[n, oy, ox, c] = best
                    idx[n, oy, ox, c] = bi
    return y, idx


def np_avg_pool(x, k, s, pads, ceil_mode, count_include_pad):
    """PyTorch's divisor: with countIncludePad the window is clipped to the
    padded extent [-padBefore, in + padAfter) (so ceil-mode overhang beyond
    the padding is not counted); otherwise only real elements are counted."""
    N, H, W, C = x.shape
    (pt, pb), (pl, pr) = pads
    OH = pool_out_size(H, k[0], s[0], pt, pb, ceil_mode)
    OW = pool_out_size(W, k[1], s[1], pl, pr, ceil_mode)
    y = np.zeros((N, OH, OW, C))
    for oy in range(OH):
        for ox in range(OW):
            hs = oy * s[0] - pt
            ws = ox * s[1] - pl
            he = min(hs + k[0], H + pb)
            we = min(ws + k[1], W + pr)
            pool = (he - hs) * (we - ws)
            hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, H), min(we, W)
            real = (he - hs) * (we - ws)
            assert real > 0
            div = pool if count_include_pad else real
            y[:, oy, ox, :] = x[:, hs:he, ws:we, :].sum(axis=(1, 2)) / div
    return y


def adaptive_bins(i, o):
    return [((j * i) // o, -(-((j + 1) * i) // o)) for j in range(o)]


def np_adaptive_avg(x, out):
    N, H, W, C = x.shape
    y = np.zeros((N, out[0], out[1], C))
    for oy, (hs, he) in enumerate(adaptive_bins(H, out[0])):
        for ox, (ws, we) in enumerate(adaptive_bins(W, out[1])):
            y[:, oy, ox, :] = x[:, hs:he, ws:we, :].sum(axis=(1, 2)) / ((he - hs) * (we - ws))
    return y


def np_adaptive_max(x, out):
    N, H, W, C = x.shape
    y = np.zeros((N, out[0], out[1], C))
    idx = np.zeros((N, out[0], out[1], C), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oy, (hs, he) in enumerate(adaptive_bins(H, out[0])):
                for ox, (ws, we) in enumerate(adaptive_bins(W, out[1])):
                    best, bi = None, None
                    for iy in range(hs, he):
                        for ix in range(ws, we):
                            v = x[n, iy, ix, c]
                            if best is None or (not math.isnan(best) and (v > best or math.isnan(v))):
                                best, bi = v, ((n * H + iy) * W + ix) * C + c
                    y[n, oy, ox, c] = best
                    idx[n, oy, ox, c] = bi
    return y, idx


# ----------------------------------------------------------------------------
# conv2d


def conv2d_case(name, x_shape, w_shape, options, bias=False):
    x = randn(*x_shape)
    w = randn(*w_shape)
    b = randn(w_shape[3]) if bias else None
    s = pair(options.get("strides", 1))
    d = pair(options.get("dilations", 1))
    groups = options.get("groups", 1)
    flip = options.get("flip", False)
    pads = conv_pads(options.get("padding", "valid"), x_shape[1:3], w_shape[0:2], s, d)
    (pt, pb), (pl, pr) = pads

    # torch: NHWC -> NCHW, HWIO -> OIHW
    xt = F.pad(nhwc_to_nchw(x), (pl, pr, pt, pb))
    wt = w.permute(3, 2, 0, 1).contiguous()
    if flip:
        wt = wt.flip([2, 3])
    y = nchw_to_nhwc(F.conv2d(xt, wt, b, stride=s, dilation=d, groups=groups))

    ref = np_conv2d(x.numpy(), w.numpy(), None if b is None else b.numpy(), s, pads, d, groups, flip)
    assert_close(name, y, ref)

    inputs = {"x": (x, "float32"), "w": (w, "float32")}
    if bias:
        inputs["bias"] = (b, "float32")
    add(name, "conv2d", options, inputs, {"y": (y, "float32")},
        meta={"pads": [list(pads[0]), list(pads[1])]})


def conv2d_cases():
    o = lambda **kw: dict({"strides": 1, "padding": "valid", "dilations": 1, "groups": 1, "flip": False}, **kw)
    conv2d_case("conv2d/valid_k3", [1, 7, 6, 3], [3, 3, 3, 4], o())
    conv2d_case("conv2d/valid_batch2_bias_cin1_cout8", [2, 5, 5, 1], [3, 3, 1, 8], o(), bias=True)
    conv2d_case("conv2d/valid_1x1", [2, 3, 4, 5], [1, 1, 5, 3], o(), bias=True)
    conv2d_case("conv2d/valid_k2x3_nonsquare", [1, 6, 7, 3], [2, 3, 3, 4], o())
    conv2d_case("conv2d/same_stride1_k3", [1, 6, 5, 3], [3, 3, 3, 5], o(padding="same"))
    # K=4, stride 1: total pad 3 -> 1 top/left, 2 bottom/right
    conv2d_case("conv2d/same_stride1_k4_odd_extra", [1, 5, 6, 3], [4, 4, 3, 4], o(padding="same"), bias=True)
    conv2d_case("conv2d/same_stride1_k2x4", [1, 5, 5, 4], [2, 4, 4, 3], o(padding="same"))
    # 7x8, K=3, s=2: H total 2 -> (1,1); W total 1 -> (0,1)
    conv2d_case("conv2d/same_stride2_k3_batch2", [2, 7, 8, 4], [3, 3, 4, 5], o(strides=2, padding="same"))
    # 8x7, K=4, s=2: H total 2 -> (1,1); W total 3 -> (1,2)
    conv2d_case("conv2d/same_stride2_k4_odd_extra", [1, 8, 7, 3], [4, 4, 3, 2], o(strides=2, padding="same"), bias=True)
    # stride > kernel: TF total would be negative on W, clamped to 0
    conv2d_case("conv2d/same_stride3_k2_total_clamped", [1, 8, 9, 2], [2, 2, 2, 3], o(strides=3, padding="same"))
    conv2d_case("conv2d/same_dil2_k3", [1, 7, 6, 3], [3, 3, 3, 4], o(padding="same", dilations=2))
    conv2d_case("conv2d/full_k3x2", [1, 5, 4, 3], [3, 2, 3, 4], o(padding="full"))
    conv2d_case("conv2d/full_dil_1x2_bias", [1, 4, 5, 2], [2, 3, 2, 3], o(padding="full", dilations=[1, 2]), bias=True)
    conv2d_case("conv2d/pairs_asym", [1, 5, 6, 3], [3, 3, 3, 4], o(padding=[[0, 2], [1, 0]]))
    conv2d_case("conv2d/pairs_asym_stride2", [2, 6, 7, 3], [3, 3, 3, 2], o(strides=2, padding=[[2, 1], [0, 3]]), bias=True)
    conv2d_case("conv2d/number_pad1", [1, 5, 5, 4], [3, 3, 4, 4], o(padding=1))
    conv2d_case("conv2d/number_pad1_stride2", [1, 7, 6, 3], [3, 3, 3, 5], o(strides=2, padding=1))
    conv2d_case("conv2d/number_pad2_k5", [1, 6, 5, 1], [5, 5, 1, 3], o(padding=2), bias=True)
    conv2d_case("conv2d/strides_2x3_valid", [1, 9, 11, 3], [3, 3, 3, 4], o(strides=[2, 3]))
    conv2d_case("conv2d/strides_2x3_pad2", [2, 7, 8, 2], [3, 4, 2, 3], o(strides=[2, 3], padding=2))
    conv2d_case("conv2d/stride_larger_than_input", [1, 3, 3, 2], [2, 2, 2, 3], o(strides=4))
    conv2d_case("conv2d/dil2_valid", [1, 9, 8, 3], [3, 3, 3, 4], o(dilations=2))
    conv2d_case("conv2d/dil2_stride2_pad2", [1, 9, 9, 2], [3, 3, 2, 3], o(strides=2, padding=2, dilations=2), bias=True)
    conv2d_case("conv2d/dil_1x2_same", [1, 6, 9, 3], [3, 3, 3, 4], o(padding="same", dilations=[1, 2]))
    conv2d_case("conv2d/groups2", [1, 6, 5, 4], [3, 3, 2, 6], o(groups=2))
    conv2d_case("conv2d/groups2_same_stride2_bias", [2, 7, 7, 4], [3, 3, 2, 4], o(groups=2, strides=2, padding="same"), bias=True)
    conv2d_case("conv2d/groups4_cin8", [1, 5, 5, 8], [3, 3, 2, 8], o(groups=4, padding=1))
    conv2d_case("conv2d/depthwise_c5_bias", [1, 6, 7, 5], [3, 3, 1, 5], o(groups=5, padding="same"), bias=True)
    conv2d_case("conv2d/depthwise_c3_multiplier2_stride2", [2, 7, 6, 3], [3, 3, 1, 6], o(groups=3, strides=2, padding="same"))
    conv2d_case("conv2d/depthwise_c4_valid_dil2", [1, 7, 7, 4], [3, 3, 1, 4], o(groups=4, dilations=2))
    conv2d_case("conv2d/flip_valid", [1, 5, 6, 3], [3, 3, 3, 4], o(flip=True))
    conv2d_case("conv2d/flip_k2x3_same_stride2_bias", [1, 7, 8, 2], [2, 3, 2, 3], o(flip=True, strides=2, padding="same"), bias=True)
    conv2d_case("conv2d/flip_full", [1, 4, 4, 1], [3, 2, 1, 2], o(flip=True, padding="full"))
    conv2d_case("conv2d/flip_depthwise", [1, 6, 6, 3], [3, 3, 1, 3], o(flip=True, groups=3, padding=1))
    # defaults: options omitted -> strides 1, padding 'valid', dilations 1, groups 1, flip false
    conv2d_case("conv2d/defaults_empty_options", [1, 4, 5, 3], [2, 2, 3, 2], {})


# ----------------------------------------------------------------------------
# conv2dTranspose


def transpose_pads(padding, k_hw, s_hw, d_hw):
    if padding == "valid":
        return ((0, 0), (0, 0))
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if padding == "same":  # output = in*s  =>  total = d*(K-1) + 1 - s
        res = []
        for k, s, d in zip(k_hw, s_hw, d_hw):
            total = d * (k - 1) + 1 - s
            assert total >= 0, "'same' transpose case needs d*(K-1)+1 >= s"
            res.append((total // 2, total - total // 2))
        return tuple(res)
    (t, b), (l, r) = padding
    return ((t, b), (l, r))


def conv2d_transpose_case(name, x_shape, w_shape, options, bias=False):
    x = randn(*x_shape)
    w = randn(*w_shape)  # [KH, KW, Cout, Cin]
    Co = w_shape[2]
    b = randn(Co) if bias else None
    s = pair(options.get("strides", 1))
    d = pair(options.get("dilations", 1))
    op = pair(options.get("outputPadding", 0))
    padding = options.get("padding", "valid")
    pads = transpose_pads(padding, w_shape[0:2], s, d)
    (pt, pb), (pl, pr) = pads
    H, W = x_shape[1:3]
    OH = (H - 1) * s[0] - pt - pb + d[0] * (w_shape[0] - 1) + 1 + op[0]
    OW = (W - 1) * s[1] - pl - pr + d[1] * (w_shape[1] - 1) + 1 + op[1]
    if padding == "same":
        assert (OH, OW) == (H * s[0], W * s[1])

    xt = nhwc_to_nchw(x)
    # [KH, KW, Cout, Cin] -> PyTorch ConvTranspose2d weight [Cin, Cout, KH, KW]
    wt = w.permute(3, 2, 0, 1).contiguous()
    # padding 0, then crop padBefore and take OH x OW (zero-extend at the end
    # when outputPadding reaches past the un-padded output)
    full = F.conv_transpose2d(xt, wt, None, stride=s, dilation=d)
    full = F.pad(full, (0, max(0, pl + OW - full.shape[3]), 0, max(0, pt + OH - full.shape[2])))
    yt = full[:, :, pt:pt + OH, pl:pl + OW]
    if b is not None:
        yt = yt + b.view(1, -1, 1, 1)
    # cross-check against PyTorch's own padding/output_padding where it applies
    if pt == pb and pl == pr and all(o < max(ss, dd) for o, ss, dd in zip(op, s, d)):
        yt2 = F.conv_transpose2d(xt, wt, b, stride=s, padding=(pt, pl), output_padding=op, dilation=d)
        assert yt2.shape == yt.shape and torch.allclose(yt2, yt, rtol=1e-12, atol=1e-12), name
    y = nchw_to_nhwc(yt)
    assert tuple(y.shape) == (x_shape[0], OH, OW, Co)

    ref = np_conv2d_transpose(x.numpy(), w.numpy(), None if b is None else b.numpy(), s, pads, d, op)
    assert_close(name, y, ref)

    inputs = {"x": (x, "float32"), "w": (w, "float32")}
    if bias:
        inputs["bias"] = (b, "float32")
    add(name, "conv2dTranspose", options, inputs, {"y": (y, "float32")},
        meta={"pads": [list(pads[0]), list(pads[1])]})


def conv2d_transpose_cases():
    o = lambda **kw: dict({"strides": 1, "padding": "valid", "outputPadding": 0, "dilations": 1}, **kw)
    c = conv2d_transpose_case
    c("conv2dTranspose/valid_stride1_k3", [1, 4, 5, 3], [3, 3, 2, 3], o())
    c("conv2dTranspose/stride2_pad1_k4_upsampler", [1, 4, 5, 3], [4, 4, 2, 3], o(strides=2, padding=1))
    c("conv2dTranspose/stride2_pad1_k4_batch2_bias", [2, 3, 3, 4], [4, 4, 5, 4], o(strides=2, padding=1), bias=True)
    c("conv2dTranspose/stride2_valid_k3", [1, 3, 4, 2], [3, 3, 3, 2], o(strides=2))
    c("conv2dTranspose/stride2_valid_k2_cout1", [2, 3, 3, 3], [2, 2, 1, 3], o(strides=2), bias=True)
    c("conv2dTranspose/stride3_pad1_outpad1", [1, 3, 4, 2], [3, 3, 4, 2], o(strides=3, padding=1, outputPadding=1))
    # outputPadding reaching past the un-padded output: the extra row/col is bias only
    c("conv2dTranspose/stride3_valid_outpad1_bias", [1, 3, 2, 2], [3, 3, 3, 2], o(strides=3, outputPadding=1), bias=True)
    c("conv2dTranspose/strides_2x3_outpad1", [1, 3, 3, 3], [3, 4, 2, 3], o(strides=[2, 3], padding=1, outputPadding=1))
    c("conv2dTranspose/dil2_stride1", [1, 4, 4, 3], [3, 3, 2, 3], o(dilations=2))
    c("conv2dTranspose/dil2_stride2_pad1", [1, 4, 3, 2], [3, 3, 3, 2], o(strides=2, padding=1, dilations=2), bias=True)
    c("conv2dTranspose/dil_1x2_pad1", [1, 4, 5, 2], [3, 3, 2, 2], o(padding=1, dilations=[1, 2]))
    c("conv2dTranspose/same_stride2_k4", [1, 4, 3, 3], [4, 4, 2, 3], o(strides=2, padding="same"))
    # total = 3-1+1-2 = 1 -> before 0, after 1
    c("conv2dTranspose/same_stride2_k3", [1, 4, 5, 2], [3, 3, 3, 2], o(strides=2, padding="same"), bias=True)
    c("conv2dTranspose/same_stride1_k3_batch2", [2, 4, 4, 3], [3, 3, 4, 3], o(padding="same"))
    c("conv2dTranspose/same_stride1_k4", [1, 3, 5, 2], [4, 4, 2, 2], o(padding="same"))
    c("conv2dTranspose/same_strides_2x3_k3x5", [1, 3, 3, 2], [3, 5, 3, 2], o(strides=[2, 3], padding="same"))
    c("conv2dTranspose/same_dil2_stride2_k3", [1, 3, 4, 2], [3, 3, 2, 2], o(strides=2, padding="same", dilations=2))
    c("conv2dTranspose/pairs_asym_stride2", [1, 3, 4, 3], [4, 3, 2, 3], o(strides=2, padding=[[0, 1], [2, 1]]))
    c("conv2dTranspose/pairs_asym_stride1_bias", [2, 4, 3, 2], [3, 3, 3, 2], o(padding=[[2, 0], [0, 1]]), bias=True)
    c("conv2dTranspose/defaults_empty_options", [1, 3, 3, 2], [2, 2, 3, 2], {})


# ----------------------------------------------------------------------------
# maxPool2d


def max_pool_case(name, x, options, expect_ties=False):
    k = pair(options["size"])
    s = pair(options.get("strides", options["size"]))
    padding = options.get("padding", 0)
    ceil_mode = options.get("ceilMode", False)
    N, H, W, C = x.shape
    pads = pool_pads(padding, (H, W), k, s)
    (pt, pb), (pl, pr) = pads
    xt = nhwc_to_nchw(x)
    if pt == pb and pl == pr and pt <= k[0] // 2 and pl <= k[1] // 2:
        yt, it = F.max_pool2d(xt, k, s, padding=(pt, pl), ceil_mode=ceil_mode, return_indices=True)
        idx = planar_to_nhwc_indices(it, H, W)
    else:
        assert not ceil_mode, "asymmetric padding cases use ceilMode false"
        xp = F.pad(xt, (pl, pr, pt, pb), value=-math.inf)
        yt, it = F.max_pool2d(xp, k, s, return_indices=True)
        Wp = W + pl + pr
        py, px = it // Wp - pt, it % Wp - pl
        assert bool(((py >= 0) & (py < H) & (px >= 0) & (px < W)).all()), "padding won"
        idx = planar_to_nhwc_indices(py * W + px, H, W)
    y = nchw_to_nhwc(yt)

    ref_y, ref_i = np_max_pool(x.numpy(), k, s, pads, ceil_mode)
    assert_close(name, y, ref_y)
    assert np.array_equal(idx.numpy(), ref_i), f"{name}: indices differ from numpy reference"
    # the value at each index is the output
    xf = x.numpy().reshape(-1)
    assert np.allclose(xf[idx.numpy()], y.numpy(), equal_nan=True, rtol=0, atol=0)

    if expect_ties:
        # count windows whose max occurs more than once
        ties = count_tied_windows(x.numpy(), k, s, pads, y.numpy())
        assert ties > 0, f"{name}: no ties"
        print(f"  {name}: {ties} windows with a tied max")

    add(name, "maxPool2d", dict(options, returnIndices=True), {"x": (x, "float32")},
        {"y": (y, "float32"), "indices": (idx, "int32")},
        meta={"pads": [list(pads[0]), list(pads[1])]})


def count_tied_windows(x, k, s, pads, y):
    N, H, W, C = x.shape
    (pt, pb), (pl, pr) = pads
    _, OH, OW, _ = y.shape
    ties = 0
    for n in range(N):
        for c in range(C):
            for oy in range(OH):
                for ox in range(OW):
                    hs, ws = oy * s[0] - pt, ox * s[1] - pl
                    win = x[n, max(hs, 0):min(hs + k[0], H), max(ws, 0):min(ws + k[1], W), c]
                    if np.sum(win == y[n, oy, ox, c]) > 1:
                        ties += 1
    return ties


def max_pool_cases():
    max_pool_case("maxPool2d/2x2_stride2_batch2", randn(2, 6, 6, 3), {"size": 2, "strides": 2})
    max_pool_case("maxPool2d/2x2_default_strides_odd_floor", randn(1, 7, 5, 4), {"size": 2})
    max_pool_case("maxPool2d/3x3_stride2_pad1", randn(1, 7, 7, 4), {"size": 3, "strides": 2, "padding": 1})
    max_pool_case("maxPool2d/3x3_stride2_pad1_even", randn(2, 8, 6, 1), {"size": 3, "strides": 2, "padding": 1})
    max_pool_case("maxPool2d/2x2_stride2_ceil_odd", randn(1, 7, 5, 2), {"size": 2, "strides": 2, "ceilMode": True})
    max_pool_case("maxPool2d/3x3_stride2_pad1_ceil", randn(1, 6, 6, 3), {"size": 3, "strides": 2, "padding": 1, "ceilMode": True})
    # ceil mode would add a window starting in the right padding: PyTorch drops it (out 2, not 3)
    max_pool_case("maxPool2d/2x2_stride4_pad1_ceil_drop_last", randn(1, 6, 6, 2), {"size": 2, "strides": 4, "padding": 1, "ceilMode": True})
    max_pool_case("maxPool2d/size_2x3_strides_1x2", randn(1, 5, 7, 3), {"size": [2, 3], "strides": [1, 2]})
    max_pool_case("maxPool2d/valid_string_3x3_stride2", randn(1, 7, 8, 5), {"size": 3, "strides": 2, "padding": "valid"})
    # 'same' (TF): 7x6, k3 s2 -> H pads (1,1), W pads (0,1)
    max_pool_case("maxPool2d/same_3x3_stride2", randn(1, 7, 6, 3), {"size": 3, "strides": 2, "padding": "same"})
    max_pool_case("maxPool2d/same_2x2_stride2_odd", randn(2, 5, 5, 2), {"size": 2, "strides": 2, "padding": "same"})
    max_pool_case("maxPool2d/pairs_asym", randn(1, 5, 6, 3), {"size": 2, "strides": 2, "padding": [[1, 0], [0, 1]]})
    # ties: integer values in {-1, 0, 1}, overlapping windows, padding around all-negative windows
    max_pool_case("maxPool2d/ties_3x3_stride1_pad1", randint(-1, 1, 1, 6, 6, 3), {"size": 3, "strides": 1, "padding": 1}, expect_ties=True)
    max_pool_case("maxPool2d/ties_2x2_stride2", randint(-2, 0, 2, 4, 6, 2), {"size": 2, "strides": 2}, expect_ties=True)
    max_pool_case("maxPool2d/ties_all_negative_same", -torch.ones(1, 5, 5, 2, dtype=torch.float64),
                  {"size": 3, "strides": 2, "padding": "same"}, expect_ties=True)
    # NaN propagation: one NaN (channel 0) and a +Infinity next to it in the same windows
    x = randn(1, 5, 5, 2)
    x[0, 2, 2, 0] = math.nan
    x[0, 2, 3, 0] = math.inf
    x[0, 0, 4, 1] = math.nan
    x[0, 4, 0, 1] = -math.inf
    max_pool_case("maxPool2d/nan_propagation_3x3_stride2_pad1", x, {"size": 3, "strides": 2, "padding": 1})
    x = randn(1, 4, 4, 3)
    x[0, 1, 0, 1] = math.nan
    x[0, 0, 1, 1] = math.inf
    x[0, 3, 3, 2] = math.nan
    max_pool_case("maxPool2d/nan_propagation_2x2_stride2", x, {"size": 2, "strides": 2})


# ----------------------------------------------------------------------------
# avgPool2d


def avg_pool_case(name, x, options):
    k = pair(options["size"])
    s = pair(options.get("strides", options["size"]))
    padding = options.get("padding", 0)
    ceil_mode = options.get("ceilMode", False)
    cip = options.get("countIncludePad", False)
    N, H, W, C = x.shape
    pads = pool_pads(padding, (H, W), k, s)
    (pt, pb), (pl, pr) = pads
    xt = nhwc_to_nchw(x)
    if pt == pb and pl == pr and pt <= k[0] // 2 and pl <= k[1] // 2:
        yt = F.avg_pool2d(xt, k, s, padding=(pt, pl), ceil_mode=ceil_mode, count_include_pad=cip)
    else:
        assert not ceil_mode, "asymmetric padding cases use ceilMode false"
        sums = F.avg_pool2d(F.pad(xt, (pl, pr, pt, pb)), k, s, divisor_override=1)
        if cip:
            yt = sums / (k[0] * k[1])
        else:
            counts = F.avg_pool2d(F.pad(torch.ones_like(xt), (pl, pr, pt, pb)), k, s, divisor_override=1)
            yt = sums / counts
    y = nchw_to_nhwc(yt)
    ref = np_avg_pool(x.numpy(), k, s, pads, ceil_mode, cip)
    assert_close(name, y, ref)
    add(name, "avgPool2d", options, {"x": (x, "float32")}, {"y": (y, "float32")},
        meta={"pads": [list(pads[0]), list(pads[1])]})


def avg_pool_cases():
    a = avg_pool_case
    a("avgPool2d/2x2_stride2_batch2", randn(2, 6, 6, 3), {"size": 2, "strides": 2})
    a("avgPool2d/2x2_default_strides_odd_floor", randn(1, 5, 7, 2), {"size": 2})
    x = randn(1, 7, 7, 4)
    a("avgPool2d/3x3_stride2_pad1_excl", x, {"size": 3, "strides": 2, "padding": 1, "countIncludePad": False})
    a("avgPool2d/3x3_stride2_pad1_incl", x, {"size": 3, "strides": 2, "padding": 1, "countIncludePad": True})
    x = randn(1, 7, 5, 2)
    a("avgPool2d/2x2_stride2_ceil_odd_excl", x, {"size": 2, "strides": 2, "ceilMode": True, "countIncludePad": False})
    # padding 0 + ceil: the overhang beyond the input is not counted even with countIncludePad
    a("avgPool2d/2x2_stride2_ceil_odd_incl", x, {"size": 2, "strides": 2, "ceilMode": True, "countIncludePad": True})
    x = randn(1, 6, 6, 3)
    a("avgPool2d/3x3_stride2_pad1_ceil_excl", x, {"size": 3, "strides": 2, "padding": 1, "ceilMode": True, "countIncludePad": False})
    # last window covers [5, 8) in each dim: one real row, one pad row (counted), one beyond the pad (not counted)
    a("avgPool2d/3x3_stride2_pad1_ceil_incl", x, {"size": 3, "strides": 2, "padding": 1, "ceilMode": True, "countIncludePad": True})
    x = randn(1, 6, 6, 2)
    a("avgPool2d/2x2_stride4_pad1_ceil_drop_last_excl", x, {"size": 2, "strides": 4, "padding": 1, "ceilMode": True, "countIncludePad": False})
    a("avgPool2d/2x2_stride4_pad1_ceil_drop_last_incl", x, {"size": 2, "strides": 4, "padding": 1, "ceilMode": True, "countIncludePad": True})
    x = randn(2, 7, 6, 3)
    a("avgPool2d/size_3x2_strides_2x1_pairs_sym_incl", x, {"size": [3, 2], "strides": [2, 1], "padding": [[1, 1], [0, 0]], "countIncludePad": True})
    a("avgPool2d/size_3x2_strides_2x1_pairs_sym_ceil_excl", x, {"size": [3, 2], "strides": [2, 1], "padding": [[1, 1], [0, 0]], "ceilMode": True, "countIncludePad": False})
    a("avgPool2d/size_2x3_strides_1x2", randn(1, 5, 7, 3), {"size": [2, 3], "strides": [1, 2]})
    x = randn(1, 7, 6, 3)
    # 'same' (TF): 7x6, k3 s2 -> H pads (1,1), W pads (0,1)
    a("avgPool2d/same_3x3_stride2_excl", x, {"size": 3, "strides": 2, "padding": "same", "countIncludePad": False})
    a("avgPool2d/same_3x3_stride2_incl", x, {"size": 3, "strides": 2, "padding": "same", "countIncludePad": True})
    x = randn(1, 5, 6, 2)
    a("avgPool2d/pairs_asym_excl", x, {"size": 2, "strides": 2, "padding": [[1, 0], [0, 1]], "countIncludePad": False})
    a("avgPool2d/pairs_asym_incl", x, {"size": 2, "strides": 2, "padding": [[1, 0], [0, 1]], "countIncludePad": True})


# ----------------------------------------------------------------------------
# adaptive pooling


def adaptive_cases():
    specs = [
        ("7x5_to_3x2_nondivisible", [1, 7, 5, 3], [3, 2]),
        ("6x6_to_3_divisible_batch2", [2, 6, 6, 2], 3),
        ("3x3_to_5_upsample", [1, 3, 3, 2], 5),
        ("4x7_to_2x3_c5", [2, 4, 7, 5], [2, 3]),
        ("5x4_to_5x4_identity", [1, 5, 4, 1], [5, 4]),
        ("5x6_to_1_global", [1, 5, 6, 4], 1),
        ("2x3_to_4x5_upsample", [1, 2, 3, 3], [4, 5]),
    ]
    for tag, shape, out in specs:
        x = randn(*shape)
        o = pair(out)
        xt = nhwc_to_nchw(x)
        y = nchw_to_nhwc(F.adaptive_avg_pool2d(xt, o))
        name = "adaptiveAvgPool2d/" + tag
        assert_close(name, y, np_adaptive_avg(x.numpy(), o))
        add(name, "adaptiveAvgPool2d", {"outputSize": out}, {"x": (x, "float32")}, {"y": (y, "float32")})

    for tag, shape, out in specs:
        x = randn(*shape)
        o = pair(out)
        N, H, W, C = shape
        yt, it = F.adaptive_max_pool2d(nhwc_to_nchw(x), o, return_indices=True)
        y = nchw_to_nhwc(yt)
        idx = planar_to_nhwc_indices(it, H, W)
        name = "adaptiveMaxPool2d/" + tag
        ref_y, ref_i = np_adaptive_max(x.numpy(), o)
        assert_close(name, y, ref_y)
        assert np.array_equal(idx.numpy(), ref_i), f"{name}: indices differ"
        add(name, "adaptiveMaxPool2d", {"outputSize": out, "returnIndices": True}, {"x": (x, "float32")},
            {"y": (y, "float32"), "indices": (idx, "int32")})
    # ties + NaN for adaptive max
    x = randint(0, 1, 1, 5, 5, 2)
    x[0, 4, 4, 1] = math.nan
    yt, it = F.adaptive_max_pool2d(nhwc_to_nchw(x), (3, 3), return_indices=True)
    y, idx = nchw_to_nhwc(yt), planar_to_nhwc_indices(it, 5, 5)
    name = "adaptiveMaxPool2d/5x5_to_3_ties_nan"
    ref_y, ref_i = np_adaptive_max(x.numpy(), (3, 3))
    assert_close(name, y, ref_y)
    assert np.array_equal(idx.numpy(), ref_i), f"{name}: indices differ"
    add(name, "adaptiveMaxPool2d", {"outputSize": 3, "returnIndices": True}, {"x": (x, "float32")},
        {"y": (y, "float32"), "indices": (idx, "int32")})


# ----------------------------------------------------------------------------
# independent spot checks of the layout conversions (hand-built, no shared helpers)


def spot_checks():
    # conv2d: single output pixel by hand from NHWC x and HWIO w
    c = next(c for c in CASES if c["name"] == "conv2d/pairs_asym_stride2")
    x = np.array(c["inputs"]["x"]["data"]).reshape(c["inputs"]["x"]["shape"])
    w = np.array(c["inputs"]["w"]["data"]).reshape(c["inputs"]["w"]["shape"])
    b = np.array(c["inputs"]["bias"]["data"])
    y = np.array(c["outputs"]["y"]["data"]).reshape(c["outputs"]["y"]["shape"])
    n, oy, ox, o = 1, 2, 1, 1  # pads top 2, left 0, stride 2
    acc = b[o]
    for ky in range(3):
        for kx in range(3):
            iy, ix = oy * 2 - 2 + ky, ox * 2 - 0 + kx
            if 0 <= iy < x.shape[1] and 0 <= ix < x.shape[2]:
                acc += sum(x[n, iy, ix, ci] * w[ky, kx, ci, o] for ci in range(x.shape[3]))
    assert abs(acc - y[n, oy, ox, o]) < 1e-12, "conv2d spot check"
    # conv2dTranspose equals the adjoint of conv2d with the same w: <convT(x), z> == <x, conv(z)>
    c = next(c for c in CASES if c["name"] == "conv2dTranspose/stride2_pad1_k4_upsampler")
    x = np.array(c["inputs"]["x"]["data"]).reshape(c["inputs"]["x"]["shape"])
    w = np.array(c["inputs"]["w"]["data"]).reshape(c["inputs"]["w"]["shape"])  # [KH,KW,Cout_t,Cin_t] = HWIO of the conv
    y = np.array(c["outputs"]["y"]["data"]).reshape(c["outputs"]["y"]["shape"])
    z = np.random.default_rng(1).standard_normal(y.shape)
    cz = np_conv2d(z, w, None, (2, 2), ((1, 1), (1, 1)), (1, 1), 1, False)
    assert cz.shape == x.shape
    assert abs(np.sum(y * z) - np.sum(x * cz)) < 1e-9, "conv2dTranspose adjoint check"
    # max-pool index: NHWC offset decodes to the element holding the max
    c = next(c for c in CASES if c["name"] == "maxPool2d/2x2_stride2_batch2")
    N, H, W, C = c["inputs"]["x"]["shape"]
    xd = c["inputs"]["x"]["data"]
    for j, (v, i) in enumerate(zip(c["outputs"]["y"]["data"], c["outputs"]["indices"]["data"])):
        cc = j % C
        ox = (j // C) % (W // 2)
        oy = (j // C // (W // 2)) % (H // 2)
        n = j // C // (W // 2) // (H // 2)
        assert xd[i] == v and i % C == cc and i // (W * H * C) == n
        iy, ix = (i // C // W) % H, (i // C) % W
        assert oy * 2 <= iy < oy * 2 + 2 and ox * 2 <= ix < ox * 2 + 2
    print("  spot checks passed")


# ----------------------------------------------------------------------------


def main():
    conv2d_cases()
    conv2d_transpose_cases()
    max_pool_cases()
    avg_pool_cases()
    adaptive_cases()
    spot_checks()

    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    try:
        deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
                             capture_output=True, text=True).stdout.strip()
    except Exception:
        deb = ""
    doc = {
        "generator": f"tests/golden/generate.py: torch {torch.__version__}"
                     + (f" (Debian python3-torch {deb})" if deb else "")
                     + f", numpy {np.__version__}, float64 reference on float32 inputs, torch.manual_seed(0)",
        "note": ("Arrays are flattened row-major in simdcnn layout (activations NHWC, conv2d w HWIO "
                 "[KH,KW,Cin/groups,Cout], conv2dTranspose w [KH,KW,Cout,Cin]); max-pool indices are int32 "
                 "flat offsets ((n*H+y)*W+x)*C+c into the NHWC input. Inputs are float32 values; float "
                 "outputs are float64 references computed from them (compare with a float32 tolerance). "
                 "Non-finite floats are encoded as the strings \"NaN\", \"Infinity\", \"-Infinity\". "
                 "\"meta.pads\" is the resolved [[top,bottom],[left,right]] padding, for debugging only."),
        "cases": CASES,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(OUT)
    print(f"wrote {OUT}: {len(CASES)} cases, {size} bytes")
    assert size < 1_500_000, "goldens.json too large"


if __name__ == "__main__":
    sys.exit(main())
