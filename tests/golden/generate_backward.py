#!/usr/bin/python3
"""Generate PyTorch gradient goldens for simdcnn's backward ops.

Run from the repository root (needs Debian's python3-torch):

    /usr/bin/python3 tests/golden/generate_backward.py

Writes tests/golden/backward.json in the same format and layouts as goldens.json
(see README.md and generate.py): arrays flattened row-major in simdcnn's layout
(activations NHWC, conv2d weights HWIO [KH, KW, Cin/groups, Cout], conv2dTranspose
weights [KH, KW, Cout/groups, Cin], max-pool indices int32 flat NHWC offsets).

Every gradient is torch autograd in float64 of sum(y * dy), where y is the forward
op computed exactly as generate.py computes it (same padding rules, same crop/zero-
extend for asymmetric transposed-conv padding, same avg-pool divisors), on float32-
representable inputs drawn with torch.manual_seed(0). The padding rules and the
forward numpy references are imported from generate.py so the two files cannot
drift apart. Each case is then checked independently in numpy:

  * direct loops computing the gradient on the NHWC/HWIO arrays (rtol/atol 1e-12),
  * a central finite difference in float64 of the forward numpy reference
    (generate.py's loops) on one randomly chosen element per gradient,
  * for the convolutions, the adjoint identity <y, dy> = <x, dx> = <w, dw>, and the
    transposition identities (dx of conv2d is a conv2dTranspose of dy with the same
    weights, dx of conv2dTranspose is a conv2d of dy with the same weights),
  * for max pooling, indices recomputed by numpy (first max wins) and dx as their
    scatter-add.
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
import generate as fwd  # noqa: E402  (helpers only: its main() is not run)

torch.set_grad_enabled(True)  # generate.py disables autograd at import
torch.manual_seed(0)
RNG = np.random.default_rng(0)  # chooses the finite-difference elements

OUT = os.path.join(HERE, "backward.json")
CASES = []

pair = fwd.pair
randn = fwd.randn
randint = fwd.randint
nhwc_to_nchw = fwd.nhwc_to_nchw
nchw_to_nhwc = fwd.nchw_to_nhwc
assert_close = fwd.assert_close


def add(name, op, options, inputs, outputs, meta=None):
    for k, (t, dt) in inputs.items():
        if dt == "float32":
            fwd.check_input_f32(t)
    case = {
        "name": name,
        "op": op,
        "options": options,
        "inputs": {k: fwd.arr(t, dt) for k, (t, dt) in inputs.items()},
        "outputs": {k: fwd.arr(t, dt) for k, (t, dt) in outputs.items()},
    }
    if meta:
        case["meta"] = meta
    CASES.append(case)


def leaf(t):
    return t.clone().requires_grad_(True)


def grads_of(y, dy, *leaves):
    """Gradients of sum(y * dy) with respect to the leaves (float64)."""
    gs = torch.autograd.grad((y * dy).sum(), leaves)
    return [g.detach() for g in gs]


def fd_check(name, what, f, a, grad, dy):
    """Central difference of <f(a), dy> at one random element of a vs grad there."""
    a = np.array(a, dtype=np.float64)
    i = tuple(int(RNG.integers(0, s)) for s in a.shape)
    h = 0.5  # every op here is linear in each argument, so the difference is exact up to rounding
    ap, am = a.copy(), a.copy()
    ap[i] += h
    am[i] -= h
    fd = (np.sum(f(ap) * dy) - np.sum(f(am) * dy)) / (2 * h)
    g = float(np.asarray(grad)[i])
    assert abs(fd - g) <= 1e-9 * max(1.0, abs(g)), f"{name}: finite difference of {what}{i}: {fd} vs {g}"


def pads_meta(pads):
    return [list(pads[0]), list(pads[1])]


# ----------------------------------------------------------------------------
# numpy references (direct loops)


def np_conv2d_grads(x, w, dy, s, pads, d, groups, flip):
    """dx and dw of sum(conv2d(x, w) * dy): scatter dy back through every tap."""
    N, H, W, C = x.shape
    KH, KW, Cg, O = w.shape
    _, OH, OW, _ = dy.shape
    og = O // groups
    wf = w[::-1, ::-1] if flip else w
    dx = np.zeros_like(x)
    dwf = np.zeros_like(w)
    (pt, _), (pl, _) = pads
    for oy in range(OH):
        for ox in range(OW):
            for ky in range(KH):
                iy = oy * s[0] - pt + ky * d[0]
                if not 0 <= iy < H:
                    continue
                for kx in range(KW):
                    ix = ox * s[1] - pl + kx * d[1]
                    if not 0 <= ix < W:
                        continue
                    for g in range(groups):
                        ci, co = slice(g * Cg, (g + 1) * Cg), slice(g * og, (g + 1) * og)
                        dx[:, iy, ix, ci] += dy[:, oy, ox, co] @ wf[ky, kx, :, co].T
                        dwf[ky, kx, :, co] += x[:, iy, ix, ci].T @ dy[:, oy, ox, co]
    dw = dwf[::-1, ::-1] if flip else dwf
    return dx, np.ascontiguousarray(dw)


def np_conv2d_transpose_g(x, w, s, pads, d, op, groups):
    """Grouped conv2dTranspose forward (scatter form), w [KH, KW, Cout/groups, Cin]:
    input pixel (iy, ix) of group g adds x[..g] @ w[ky, kx, :, ..g].T to output
    (iy*s - padTop + ky*d, ix*s - padLeft + kx*d), channels of block g."""
    N, H, W, Ci = x.shape
    KH, KW, cog, _ = w.shape
    cig = Ci // groups
    (pt, pb), (pl, pr) = pads
    OH = (H - 1) * s[0] - pt - pb + d[0] * (KH - 1) + 1 + op[0]
    OW = (W - 1) * s[1] - pl - pr + d[1] * (KW - 1) + 1 + op[1]
    y = np.zeros((N, OH, OW, cog * groups))
    for iy in range(H):
        for ix in range(W):
            for ky in range(KH):
                oy = iy * s[0] - pt + ky * d[0]
                if not 0 <= oy < OH:
                    continue
                for kx in range(KW):
                    ox = ix * s[1] - pl + kx * d[1]
                    if not 0 <= ox < OW:
                        continue
                    for g in range(groups):
                        ci, co = slice(g * cig, (g + 1) * cig), slice(g * cog, (g + 1) * cog)
                        y[:, oy, ox, co] += x[:, iy, ix, ci] @ w[ky, kx, :, ci].T
    return y


def np_conv2d_transpose_grads(x, w, dy, s, pads, d, groups):
    N, H, W, Ci = x.shape
    KH, KW, cog, _ = w.shape
    _, OH, OW, _ = dy.shape
    cig = Ci // groups
    (pt, _), (pl, _) = pads
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for iy in range(H):
        for ix in range(W):
            for ky in range(KH):
                oy = iy * s[0] - pt + ky * d[0]
                if not 0 <= oy < OH:
                    continue
                for kx in range(KW):
                    ox = ix * s[1] - pl + kx * d[1]
                    if not 0 <= ox < OW:
                        continue
                    for g in range(groups):
                        ci, co = slice(g * cig, (g + 1) * cig), slice(g * cog, (g + 1) * cog)
                        dx[:, iy, ix, ci] += dy[:, oy, ox, co] @ w[ky, kx, :, ci]
                        dw[ky, kx, :, ci] += dy[:, oy, ox, co].T @ x[:, iy, ix, ci]
    return dx, dw


def np_avg_pool_grad(x_shape, dy, k, s, pads, count_include_pad):
    """Same windows and divisors as generate.np_avg_pool, run backwards."""
    N, H, W, C = x_shape
    (pt, pb), (pl, pr) = pads
    _, OH, OW, _ = dy.shape
    dx = np.zeros(x_shape)
    for oy in range(OH):
        for ox in range(OW):
            hs, ws = oy * s[0] - pt, ox * s[1] - pl
            he, we = min(hs + k[0], H + pb), min(ws + k[1], W + pr)
            pool = (he - hs) * (we - ws)
            hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, H), min(we, W)
            real = (he - hs) * (we - ws)
            div = pool if count_include_pad else real
            dx[:, hs:he, ws:we, :] += dy[:, oy:oy + 1, ox:ox + 1, :] / div
    return dx


def np_scatter(x_shape, dy, idx):
    dx = np.zeros(int(np.prod(x_shape)))
    np.add.at(dx, np.asarray(idx).reshape(-1), np.asarray(dy).reshape(-1))
    return dx.reshape(x_shape)


# ----------------------------------------------------------------------------
# conv2d: conv2dBackpropInput / conv2dBackpropFilter


def conv2d_case(tag, x_shape, w_shape, options):
    x = randn(*x_shape)
    w = randn(*w_shape)
    s = pair(options.get("strides", 1))
    d = pair(options.get("dilations", 1))
    groups = options.get("groups", 1)
    flip = options.get("flip", False)
    pads = fwd.conv_pads(options.get("padding", "valid"), x_shape[1:3], w_shape[0:2], s, d)
    (pt, pb), (pl, pr) = pads

    xg, wg = leaf(x), leaf(w)
    wt = wg.permute(3, 2, 0, 1)  # HWIO -> OIHW
    if flip:
        wt = wt.flip([2, 3])  # autograd flips the weight gradient back
    y = nchw_to_nhwc(F.conv2d(F.pad(nhwc_to_nchw(xg), (pl, pr, pt, pb)), wt, None, stride=s, dilation=d, groups=groups))
    dy = randn(*y.shape)
    dx, dw = grads_of(y, dy, xg, wg)
    y = y.detach()

    # independent checks
    xn, wn, dyn = x.numpy(), w.numpy(), dy.numpy()
    fwd_np = lambda xx, ww: fwd.np_conv2d(xx, ww, None, s, pads, d, groups, flip)
    assert_close(tag, y, fwd_np(xn, wn))
    rdx, rdw = np_conv2d_grads(xn, wn, dyn, s, pads, d, groups, flip)
    assert_close(tag, dx, rdx, "dx")
    assert_close(tag, dw, rdw, "dw")
    fd_check(tag, "x", lambda a: fwd_np(a, wn), xn, dx, dyn)
    fd_check(tag, "w", lambda a: fwd_np(xn, a), wn, dw, dyn)
    e = float(np.sum(y.numpy() * dyn))
    assert abs(e - float(np.sum(xn * dx.numpy()))) < 1e-9 and abs(e - float(np.sum(wn * dw.numpy()))) < 1e-9, tag
    # dx = conv2dTranspose(dy, w (flipped if flip), same pads, outputPadding r), 0 <= r < s
    OH, OW = y.shape[1:3]
    KH, KW = w_shape[0:2]
    r = (x_shape[1] + pt + pb - (KH - 1) * d[0] - 1 - (OH - 1) * s[0],
         x_shape[2] + pl + pr - (KW - 1) * d[1] - 1 - (OW - 1) * s[1])
    assert 0 <= r[0] < s[0] and 0 <= r[1] < s[1]
    wf = wn[::-1, ::-1] if flip else wn
    assert_close(tag, dx, np_conv2d_transpose_g(dyn, wf, s, pads, d, r, groups), "dx as conv2dTranspose")

    meta = {"pads": pads_meta(pads), "yShape": list(y.shape)}
    add("conv2dBackpropInput/" + tag, "conv2dBackpropInput", dict(options, xShape=list(x_shape)),
        {"dy": (dy, "float32"), "w": (w, "float32")}, {"dx": (dx, "float32")}, meta)
    add("conv2dBackpropFilter/" + tag, "conv2dBackpropFilter", dict(options, wShape=list(w_shape)),
        {"x": (x, "float32"), "dy": (dy, "float32")}, {"dw": (dw, "float32")}, meta)


def conv2d_cases():
    o = lambda **kw: dict({"strides": 1, "padding": "valid", "dilations": 1, "groups": 1, "flip": False}, **kw)
    c = conv2d_case
    c("valid_k3", [1, 6, 5, 3], [3, 3, 3, 4], o())
    c("valid_batch2_cin1_cout8", [2, 5, 5, 1], [3, 3, 1, 8], o())
    c("valid_1x1_batch2_c5", [2, 3, 4, 5], [1, 1, 5, 3], o())
    # K=4, stride 1: total pad 3 -> 1 top/left, 2 bottom/right
    c("same_stride1_k4_odd_extra", [1, 5, 6, 3], [4, 4, 3, 4], o(padding="same"))
    # 7x8, K=3, s=2: H pads (1,1), W pads (0,1)
    c("same_stride2_k3_batch2", [2, 7, 8, 3], [3, 3, 3, 5], o(strides=2, padding="same"))
    # 8x7, K=4, s=2: H pads (1,1), W pads (1,2)
    c("same_stride2_k4_odd_extra", [1, 8, 7, 3], [4, 4, 3, 2], o(strides=2, padding="same"))
    # total clamped to 0; rows 2, 5 and cols 2, 5, 8 are never read: their dx is 0
    c("same_stride3_k2_total_clamped", [1, 8, 9, 2], [2, 2, 2, 3], o(strides=3, padding="same"))
    c("same_dil2_k3", [1, 7, 6, 3], [3, 3, 3, 4], o(padding="same", dilations=2))
    c("full_k3x2", [1, 5, 4, 3], [3, 2, 3, 4], o(padding="full"))
    c("full_dil_1x2", [1, 4, 5, 2], [2, 3, 2, 3], o(padding="full", dilations=[1, 2]))
    c("pairs_asym", [1, 5, 6, 3], [3, 3, 3, 4], o(padding=[[0, 2], [1, 0]]))
    c("pairs_asym_stride2_batch2", [2, 6, 7, 3], [3, 3, 3, 2], o(strides=2, padding=[[2, 1], [0, 3]]))
    c("number_pad1_stride2", [1, 7, 6, 3], [3, 3, 3, 5], o(strides=2, padding=1))
    c("number_pad2_k5_cin1", [1, 6, 5, 1], [5, 5, 1, 3], o(padding=2))
    # W: 11 wide, k3 s3 -> 3 outputs reading cols 0..8; cols 9, 10 get dx 0
    c("strides_2x3_valid_uncovered", [1, 9, 11, 3], [3, 3, 3, 4], o(strides=[2, 3]))
    c("strides_2x3_pad2_batch2", [2, 7, 8, 2], [3, 4, 2, 3], o(strides=[2, 3], padding=2))
    c("stride3_valid_k2_c5_gaps", [1, 8, 7, 5], [2, 2, 5, 3], o(strides=3))
    c("dil2_valid", [1, 9, 8, 3], [3, 3, 3, 4], o(dilations=2))
    c("dil2_stride2_pad2", [1, 9, 9, 2], [3, 3, 2, 3], o(strides=2, padding=2, dilations=2))
    c("groups2", [1, 6, 5, 4], [3, 3, 2, 6], o(groups=2))
    c("groups2_same_stride2_batch2", [2, 7, 7, 4], [3, 3, 2, 4], o(groups=2, strides=2, padding="same"))
    c("groups4_cin8_pad1", [1, 5, 5, 8], [3, 3, 2, 8], o(groups=4, padding=1))
    c("depthwise_c5_same", [1, 6, 7, 5], [3, 3, 1, 5], o(groups=5, padding="same"))
    c("depthwise_c3_multiplier2_stride2_same_batch2", [2, 7, 6, 3], [3, 3, 1, 6], o(groups=3, strides=2, padding="same"))
    c("depthwise_c8_dil2_valid", [1, 7, 7, 8], [3, 3, 1, 8], o(groups=8, dilations=2))
    c("flip_valid", [1, 5, 6, 3], [3, 3, 3, 4], o(flip=True))
    c("flip_k2x3_same_stride2", [1, 7, 8, 2], [2, 3, 2, 3], o(flip=True, strides=2, padding="same"))
    c("flip_full_cin1", [1, 4, 4, 1], [3, 2, 1, 2], o(flip=True, padding="full"))
    c("flip_depthwise_pad1", [1, 6, 6, 3], [3, 3, 1, 3], o(flip=True, groups=3, padding=1))
    c("flip_groups2_pairs_stride2", [1, 7, 6, 4], [3, 2, 2, 4], o(flip=True, groups=2, strides=2, padding=[[1, 0], [0, 1]]))
    # options omitted -> strides 1, padding 'valid', dilations 1, groups 1, flip false
    c("defaults_empty_options", [1, 4, 5, 3], [2, 2, 3, 2], {})


# ----------------------------------------------------------------------------
# conv2dTranspose: conv2dTransposeBackpropInput / conv2dTransposeBackpropFilter


def transpose_pads(padding, k_hw, s_hw, d_hw, op):
    """generate.transpose_pads, plus 'same' with d*(K-1)+1 < s: no padding, and the
    missing -total rows/cols become output padding (zeros), so the output is still in*s."""
    if padding == "same":
        extra = tuple(max(0, -(d * (k - 1) + 1 - s)) for k, s, d in zip(k_hw, s_hw, d_hw))
        if any(extra):
            assert op == (0, 0)
            pads = tuple((0, 0) if e else fwd.transpose_pads("same", (k,), (s,), (d,))[0]
                         for e, k, s, d in zip(extra, k_hw, s_hw, d_hw))
            return pads, extra
    return fwd.transpose_pads(padding, k_hw, s_hw, d_hw), op


def conv2d_transpose_case(tag, x_shape, w_shape, options):
    x = randn(*x_shape)
    w = randn(*w_shape)  # [KH, KW, Cout/groups, Cin]
    groups = options.get("groups", 1)
    s = pair(options.get("strides", 1))
    d = pair(options.get("dilations", 1))
    padding = options.get("padding", "valid")
    pads, op = transpose_pads(padding, w_shape[0:2], s, d, pair(options.get("outputPadding", 0)))
    (pt, pb), (pl, pr) = pads
    N, H, W, Ci = x_shape
    KH, KW = w_shape[0:2]
    OH = (H - 1) * s[0] - pt - pb + d[0] * (KH - 1) + 1 + op[0]
    OW = (W - 1) * s[1] - pl - pr + d[1] * (KW - 1) + 1 + op[1]
    if padding == "same":
        assert (OH, OW) == (H * s[0], W * s[1])

    xg, wg = leaf(x), leaf(w)
    wt = wg.permute(3, 2, 0, 1)  # -> ConvTranspose2d weight [Cin, Cout/groups, KH, KW]
    # as generate.py: padding 0, crop padBefore, zero-extend when outputPadding reaches past
    full = F.conv_transpose2d(nhwc_to_nchw(xg), wt, None, stride=s, dilation=d, groups=groups)
    full = F.pad(full, (0, max(0, pl + OW - full.shape[3]), 0, max(0, pt + OH - full.shape[2])))
    yt = full[:, :, pt:pt + OH, pl:pl + OW]
    if pt == pb and pl == pr and all(o < max(ss, dd) for o, ss, dd in zip(op, s, d)):
        yt2 = F.conv_transpose2d(nhwc_to_nchw(x), w.permute(3, 2, 0, 1), None, stride=s, padding=(pt, pl),
                                 output_padding=op, dilation=d, groups=groups)
        assert yt2.shape == yt.shape and torch.allclose(yt2, yt.detach(), rtol=1e-12, atol=1e-12), tag
    y = nchw_to_nhwc(yt)
    assert tuple(y.shape) == (N, OH, OW, w_shape[2] * groups)
    dy = randn(*y.shape)
    dx, dw = grads_of(y, dy, xg, wg)
    y = y.detach()

    xn, wn, dyn = x.numpy(), w.numpy(), dy.numpy()
    fwd_np = lambda xx, ww: np_conv2d_transpose_g(xx, ww, s, pads, d, op, groups)
    assert_close(tag, y, fwd_np(xn, wn))
    if groups == 1:
        assert_close(tag, y, fwd.np_conv2d_transpose(xn, wn, None, s, pads, d, op))
    rdx, rdw = np_conv2d_transpose_grads(xn, wn, dyn, s, pads, d, groups)
    assert_close(tag, dx, rdx, "dx")
    assert_close(tag, dw, rdw, "dw")
    fd_check(tag, "x", lambda a: fwd_np(a, wn), xn, dx, dyn)
    fd_check(tag, "w", lambda a: fwd_np(xn, a), wn, dw, dyn)
    e = float(np.sum(y.numpy() * dyn))
    assert abs(e - float(np.sum(xn * dx.numpy()))) < 1e-9 and abs(e - float(np.sum(wn * dw.numpy()))) < 1e-9, tag
    # dx = conv2d(dy, w) with padding top/left = padBefore (the bottom/right pad only has to
    # be large enough; rows past H are dropped), and dw = conv2dBackpropFilter(dy, x) with it
    big = ((pt, s[0] * H + d[0] * KH), (pl, s[1] * W + d[1] * KW))
    assert_close(tag, dx, fwd.np_conv2d(dyn, wn, None, s, big, d, groups, False)[:, :H, :W, :], "dx as conv2d")
    if padding == "same":  # equals conv2d's own TF 'same' on dy when the transpose's total pad >= 0
        tf = fwd.conv_pads("same", (OH, OW), (KH, KW), s, d)
        for a in range(2):
            if op[a] == 0:
                assert tf[a] == pads[a], (tag, tf, pads)

    meta = {"pads": pads_meta(pads), "yShape": list(y.shape)}
    if op != pair(options.get("outputPadding", 0)):
        meta["outputPadding"] = list(op)
    add("conv2dTransposeBackpropInput/" + tag, "conv2dTransposeBackpropInput", dict(options, xShape=list(x_shape)),
        {"dy": (dy, "float32"), "w": (w, "float32")}, {"dx": (dx, "float32")}, meta)
    add("conv2dTransposeBackpropFilter/" + tag, "conv2dTransposeBackpropFilter", dict(options, wShape=list(w_shape)),
        {"x": (x, "float32"), "dy": (dy, "float32")}, {"dw": (dw, "float32")}, meta)


def conv2d_transpose_cases():
    o = lambda **kw: dict({"strides": 1, "padding": "valid", "outputPadding": 0, "dilations": 1, "groups": 1}, **kw)
    c = conv2d_transpose_case
    c("valid_stride1_k3", [1, 4, 5, 3], [3, 3, 2, 3], o())
    c("stride2_pad1_k4_upsampler", [1, 4, 5, 3], [4, 4, 2, 3], o(strides=2, padding=1))
    c("stride2_valid_k3_batch2", [2, 3, 4, 2], [3, 3, 3, 2], o(strides=2))
    c("stride2_valid_k2_cout1_c5", [1, 3, 3, 5], [2, 2, 1, 5], o(strides=2))
    c("stride3_pad1_outpad1", [1, 3, 4, 2], [3, 3, 4, 2], o(strides=3, padding=1, outputPadding=1))
    # the outputPadding row/col lies past the un-padded output: its dy is ignored
    c("stride3_valid_outpad1_dy_row_ignored", [1, 3, 2, 2], [3, 3, 3, 2], o(strides=3, outputPadding=1))
    c("strides_2x3_pad1_outpad1", [1, 3, 3, 3], [3, 4, 2, 3], o(strides=[2, 3], padding=1, outputPadding=1))
    c("dil2_stride1", [1, 4, 4, 3], [3, 3, 2, 3], o(dilations=2))
    c("dil2_stride2_pad1", [1, 4, 3, 2], [3, 3, 3, 2], o(strides=2, padding=1, dilations=2))
    c("same_stride2_k4", [1, 4, 3, 3], [4, 4, 2, 3], o(strides=2, padding="same"))
    # total = 3-1+1-2 = 1 -> before 0, after 1
    c("same_stride2_k3", [1, 4, 5, 2], [3, 3, 3, 2], o(strides=2, padding="same"))
    c("same_stride1_k4_batch2", [2, 3, 5, 2], [4, 4, 2, 2], o(padding="same"))
    c("same_strides_2x3_k3x5", [1, 3, 3, 2], [3, 5, 3, 2], o(strides=[2, 3], padding="same"))
    c("same_dil2_stride2_k3", [1, 3, 4, 2], [3, 3, 2, 2], o(strides=2, padding="same", dilations=2))
    # K=2, s=3: d*(K-1)+1-s = -1 -> no padding and one zero row/col at the end (out = in*3)
    c("same_stride3_k2_negative_total", [1, 3, 2, 2], [2, 2, 3, 2], o(strides=3, padding="same"))
    c("pairs_asym_stride2", [1, 3, 4, 3], [4, 3, 2, 3], o(strides=2, padding=[[0, 1], [2, 1]]))
    c("pairs_asym_stride1_batch2", [2, 4, 3, 2], [3, 3, 3, 2], o(padding=[[2, 0], [0, 1]]))
    # groups: Cin 4 -> Cout 6 in 2 groups, w [3, 3, 3, 4]
    c("groups2_stride2_pad1", [1, 3, 4, 4], [3, 3, 3, 4], o(strides=2, padding=1, groups=2))
    # depthwise-like: 3 groups of one input channel, two output channels each
    c("groups3_cin3_cout6_same_stride2", [1, 3, 3, 3], [3, 3, 2, 3], o(strides=2, padding="same", groups=3))
    c("defaults_empty_options", [1, 3, 3, 2], [2, 2, 3, 2], {})


# ----------------------------------------------------------------------------
# biasGrad


def bias_grad_cases():
    for tag, shape in [("nhwc_batch2_c5", [2, 3, 4, 5]), ("dense_rank2_c8", [3, 8])]:
        dy = randn(*shape)
        b = leaf(torch.zeros(shape[-1], dtype=torch.float64))
        y = torch.zeros(*shape, dtype=torch.float64) + b
        (db,) = grads_of(y, dy, b)
        assert_close(tag, db, dy.numpy().reshape(-1, shape[-1]).sum(axis=0), "db")
        add("biasGrad/" + tag, "biasGrad", {}, {"dy": (dy, "float32")}, {"db": (db, "float32")})


# ----------------------------------------------------------------------------
# maxPool2dBackward (from maxPool2d and adaptiveMaxPool2d indices)


def torch_max_pool(xt, k, s, pads, ceil_mode, H, W):
    """generate.py's maxPool2d, differentiable: (y NCHW, NHWC flat indices)."""
    (pt, pb), (pl, pr) = pads
    if pt == pb and pl == pr and pt <= k[0] // 2 and pl <= k[1] // 2:
        yt, it = F.max_pool2d(xt, k, s, padding=(pt, pl), ceil_mode=ceil_mode, return_indices=True)
        return yt, fwd.planar_to_nhwc_indices(it, H, W)
    assert not ceil_mode, "asymmetric padding cases use ceilMode false"
    yt, it = F.max_pool2d(F.pad(xt, (pl, pr, pt, pb), value=-float("inf")), k, s, return_indices=True)
    Wp = W + pl + pr
    py, px = it // Wp - pt, it % Wp - pl
    assert bool(((py >= 0) & (py < H) & (px >= 0) & (px < W)).all()), "padding won"
    return yt, fwd.planar_to_nhwc_indices(py * W + px, H, W)


def max_pool_case(tag, x, options, expect_ties=False):
    k = pair(options["size"])
    s = pair(options.get("strides", options["size"]))
    ceil_mode = options.get("ceilMode", False)
    N, H, W, C = x.shape
    pads = fwd.pool_pads(options.get("padding", 0), (H, W), k, s)
    xg = leaf(x)
    yt, idx = torch_max_pool(nhwc_to_nchw(xg), k, s, pads, ceil_mode, H, W)
    y = nchw_to_nhwc(yt)
    dy = randn(*y.shape)
    (dx,) = grads_of(y, dy, xg)

    ref_y, ref_i = fwd.np_max_pool(x.numpy(), k, s, pads, ceil_mode)
    assert_close(tag, y.detach(), ref_y)
    assert np.array_equal(idx.numpy(), ref_i), f"{tag}: indices differ from numpy"
    assert_close(tag, dx, np_scatter(list(x.shape), dy.numpy(), ref_i), "dx")
    overlap = len(np.unique(ref_i)) < ref_i.size
    if expect_ties:
        ties = fwd.count_tied_windows(x.numpy(), k, s, pads, y.detach().numpy())
        assert ties > 0, f"{tag}: no ties"
    add("maxPool2dBackward/" + tag, "maxPool2dBackward", {"xShape": list(x.shape)},
        {"dy": (dy, "float32"), "indices": (idx, "int32")}, {"dx": (dx, "float32")},
        {"forward": {"op": "maxPool2d", "options": options, "x": fwd.arr(x)}, "pads": pads_meta(pads),
         "sharedIndices": bool(overlap)})


def adaptive_max_case(tag, x, out):
    o = pair(out)
    N, H, W, C = x.shape
    xg = leaf(x)
    yt, it = F.adaptive_max_pool2d(nhwc_to_nchw(xg), o, return_indices=True)
    y, idx = nchw_to_nhwc(yt), fwd.planar_to_nhwc_indices(it, H, W)
    dy = randn(*y.shape)
    (dx,) = grads_of(y, dy, xg)
    ref_y, ref_i = fwd.np_adaptive_max(x.numpy(), o)
    assert_close(tag, y.detach(), ref_y)
    assert np.array_equal(idx.numpy(), ref_i), f"{tag}: indices differ from numpy"
    assert_close(tag, dx, np_scatter(list(x.shape), dy.numpy(), ref_i), "dx")
    overlap = len(np.unique(ref_i)) < ref_i.size
    add("maxPool2dBackward/" + tag, "maxPool2dBackward", {"xShape": list(x.shape)},
        {"dy": (dy, "float32"), "indices": (idx, "int32")}, {"dx": (dx, "float32")},
        {"forward": {"op": "adaptiveMaxPool2d", "options": {"outputSize": out}, "x": fwd.arr(x)},
         "sharedIndices": bool(overlap)})


def max_pool_cases():
    m = max_pool_case
    m("2x2_stride2_batch2", randn(2, 6, 6, 3), {"size": 2, "strides": 2})
    m("3x3_stride2_pad1_overlap", randn(1, 7, 7, 4), {"size": 3, "strides": 2, "padding": 1})
    m("3x3_stride1_overlap", randn(1, 6, 5, 3), {"size": 3, "strides": 1})
    m("3x3_stride2_pad1_ceil", randn(1, 6, 6, 3), {"size": 3, "strides": 2, "padding": 1, "ceilMode": True})
    m("size_2x3_strides_1x2", randn(1, 5, 7, 3), {"size": [2, 3], "strides": [1, 2]})
    # 'same' (TF): 7x6, k3 s2 -> H pads (1,1), W pads (0,1)
    m("same_3x3_stride2", randn(1, 7, 6, 3), {"size": 3, "strides": 2, "padding": "same"})
    m("pairs_asym", randn(1, 5, 6, 3), {"size": 2, "strides": 2, "padding": [[1, 0], [0, 1]]})
    # ties (integer values): the first max in row-major window order receives the gradient
    m("ties_3x3_stride1_pad1", randint(-1, 1, 1, 6, 6, 3), {"size": 3, "strides": 1, "padding": 1}, expect_ties=True)
    m("ties_3x3_stride2_pad1_batch2", randint(0, 1, 2, 7, 7, 2), {"size": 3, "strides": 2, "padding": 1}, expect_ties=True)
    # adaptive max: 7 -> 3 bins [0,3) [2,5) [4,7) overlap
    adaptive_max_case("adaptive_7x5_to_3x2_overlapping_bins", randn(1, 7, 5, 3), [3, 2])
    adaptive_max_case("adaptive_5x5_to_3_ties", randint(0, 1, 1, 5, 5, 2), 3)


# ----------------------------------------------------------------------------
# avgPool2dBackward


def torch_avg_pool(xt, k, s, pads, ceil_mode, cip):
    """generate.py's avgPool2d, differentiable."""
    (pt, pb), (pl, pr) = pads
    if pt == pb and pl == pr and pt <= k[0] // 2 and pl <= k[1] // 2:
        return F.avg_pool2d(xt, k, s, padding=(pt, pl), ceil_mode=ceil_mode, count_include_pad=cip)
    assert not ceil_mode, "asymmetric padding cases use ceilMode false"
    sums = F.avg_pool2d(F.pad(xt, (pl, pr, pt, pb)), k, s, divisor_override=1)
    if cip:
        return sums / (k[0] * k[1])
    counts = F.avg_pool2d(F.pad(torch.ones_like(xt), (pl, pr, pt, pb)), k, s, divisor_override=1)
    return sums / counts.detach()


def avg_pool_case(tag, x, options):
    k = pair(options["size"])
    s = pair(options.get("strides", options["size"]))
    ceil_mode = options.get("ceilMode", False)
    cip = options.get("countIncludePad", False)
    N, H, W, C = x.shape
    pads = fwd.pool_pads(options.get("padding", 0), (H, W), k, s)
    xg = leaf(x)
    y = nchw_to_nhwc(torch_avg_pool(nhwc_to_nchw(xg), k, s, pads, ceil_mode, cip))
    dy = randn(*y.shape)
    (dx,) = grads_of(y, dy, xg)

    fwd_np = lambda a: fwd.np_avg_pool(a, k, s, pads, ceil_mode, cip)
    assert_close(tag, y.detach(), fwd_np(x.numpy()))
    assert_close(tag, dx, np_avg_pool_grad(list(x.shape), dy.numpy(), k, s, pads, cip), "dx")
    fd_check(tag, "x", fwd_np, x.numpy(), dx, dy.numpy())
    add("avgPool2dBackward/" + tag, "avgPool2dBackward", dict(options, xShape=list(x.shape)),
        {"dy": (dy, "float32")}, {"dx": (dx, "float32")}, {"pads": pads_meta(pads), "yShape": list(y.shape)})


def avg_pool_cases():
    a = lambda tag, shape, opts: avg_pool_case(tag, randn(*shape), opts)
    b = lambda **kw: dict({"strides": None, "padding": 0, "countIncludePad": False, "ceilMode": False}, **kw)

    def both(tag, shape, **kw):
        for cip in (False, True):
            o = b(**kw, countIncludePad=cip)
            if o["strides"] is None:
                o["strides"] = o["size"]
            a(f"{tag}_{'incl' if cip else 'excl'}", shape, o)

    both("2x2_stride2_batch2", [2, 6, 6, 3], size=2, strides=2)
    both("3x3_stride2_pad1", [1, 7, 7, 4], size=3, strides=2, padding=1)
    both("3x3_stride1_pad1_overlap", [1, 5, 6, 2], size=3, strides=1, padding=1)
    # padding 0 + ceil: the overhang beyond the input is not counted even with countIncludePad
    both("2x2_stride2_ceil_odd", [1, 7, 5, 2], size=2, strides=2, ceilMode=True)
    # last window [5, 8): one real row, one pad row (counted with countIncludePad), one beyond
    both("3x3_stride2_pad1_ceil", [1, 6, 6, 3], size=3, strides=2, padding=1, ceilMode=True)
    # ceil mode drops the window that would start in the right padding; windows read rows/cols
    # {0} and {3, 4} only, so x rows and cols 1, 2, 5 get no gradient
    both("2x2_stride4_pad1_ceil_drop_last", [1, 6, 6, 2], size=2, strides=4, padding=1, ceilMode=True)
    both("size_3x2_strides_2x1_pairs_sym_ceil_batch2", [2, 7, 6, 3], size=[3, 2], strides=[2, 1],
         padding=[[1, 1], [0, 0]], ceilMode=True)
    both("size_2x3_strides_1x2", [1, 5, 7, 3], size=[2, 3], strides=[1, 2])
    # 'same' (TF): 7x6, k3 s2 -> H pads (1,1), W pads (0,1)
    both("same_3x3_stride2", [1, 7, 6, 3], size=3, strides=2, padding="same")
    both("same_2x2_stride2_odd", [1, 5, 5, 2], size=2, strides=2, padding="same")
    both("pairs_asym", [1, 5, 6, 2], size=2, strides=2, padding=[[1, 0], [0, 1]])
    both("pairs_asym_3x3_stride1", [1, 4, 5, 2], size=3, strides=1, padding=[[2, 0], [0, 1]])


# ----------------------------------------------------------------------------
# adaptiveAvgPool2dBackward


def adaptive_avg_cases():
    specs = [
        ("7x5_to_3x2_nondivisible", [1, 7, 5, 3], [3, 2]),
        ("6x6_to_3_divisible_batch2", [2, 6, 6, 2], 3),
        ("3x3_to_5_upsample", [1, 3, 3, 2], 5),
        ("4x7_to_2x3_c5", [1, 4, 7, 5], [2, 3]),
        ("5x6_to_1_global", [1, 5, 6, 4], 1),
        ("2x3_to_4x5_upsample", [1, 2, 3, 3], [4, 5]),
    ]
    for tag, shape, out in specs:
        x = randn(*shape)
        o = pair(out)
        xg = leaf(x)
        y = nchw_to_nhwc(F.adaptive_avg_pool2d(nhwc_to_nchw(xg), o))
        dy = randn(*y.shape)
        (dx,) = grads_of(y, dy, xg)
        N, H, W, C = shape
        ref = np.zeros(shape)
        for oy, (hs, he) in enumerate(fwd.adaptive_bins(H, o[0])):
            for ox, (ws, we) in enumerate(fwd.adaptive_bins(W, o[1])):
                ref[:, hs:he, ws:we, :] += dy.numpy()[:, oy:oy + 1, ox:ox + 1, :] / ((he - hs) * (we - ws))
        assert_close(tag, dx, ref, "dx")
        fd_check(tag, "x", lambda a: fwd.np_adaptive_avg(a, o), x.numpy(), dx, dy.numpy())
        add("adaptiveAvgPool2dBackward/" + tag, "adaptiveAvgPool2dBackward",
            {"xShape": list(shape), "outputSize": out}, {"dy": (dy, "float32")}, {"dx": (dx, "float32")})


# ----------------------------------------------------------------------------


def main():
    conv2d_cases()
    conv2d_transpose_cases()
    bias_grad_cases()
    max_pool_cases()
    avg_pool_cases()
    adaptive_avg_cases()

    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    try:
        deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"],
                             capture_output=True, text=True).stdout.strip()
    except Exception:
        deb = ""
    doc = {
        "generator": f"tests/golden/generate_backward.py: torch {torch.__version__}"
                     + (f" (Debian python3-torch {deb})" if deb else "")
                     + f", numpy {np.__version__}, float64 autograd on float32 inputs, torch.manual_seed(0)",
        "note": ("Gradient goldens: each output is the gradient of sum(y * dy) for the forward op y "
                 "(see README.md). Layouts as in goldens.json: activations NHWC, conv2d w HWIO "
                 "[KH,KW,Cin/groups,Cout], conv2dTranspose w [KH,KW,Cout/groups,Cin]; indices are int32 "
                 "flat offsets ((n*H+y)*W+x)*C+c into the NHWC input. Inputs are float32 values; outputs "
                 "are float64 references (compare with a float32 tolerance). Shape arguments (xShape, "
                 "wShape) are in options. \"meta\" is for debugging only."),
        "cases": CASES,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(OUT)
    counts = {}
    for c in CASES:
        counts[c["op"]] = counts.get(c["op"], 0) + 1
    print(f"wrote {OUT}: {len(CASES)} cases, {size} bytes")
    for op, n in counts.items():
        print(f"  {op}: {n}")
    assert size < 1_000_000, "backward.json too large"


if __name__ == "__main__":
    sys.exit(main())
