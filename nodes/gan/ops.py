"""Low-level StyleGAN operations in plain PyTorch: FIR resampling, bias + activation, StyleGAN2's
modulated conv, StyleGAN3's filtered leaky ReLU.

Numerics follow the reference (pure-PyTorch) paths of NVIDIA's upfirdn2d, bias_act,
conv2d_resample and filtered_lrelu (SPEC §3, §3b), so official weights give the same pixels
without custom CUDA.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def setup_filter(taps: list[float]) -> torch.Tensor:
    """The 2-D resampling filter: outer product of the 1-D taps, normalised to sum 1."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    lrelu: bool,
    gain: float = 1.0,
    clamp: float | None = None,
) -> torch.Tensor:
    """Add a per-channel bias (dim 1), apply leaky ReLU or identity, scale by gain, clamp."""
    if bias is not None:
        x = x + bias.reshape([1, -1] + [1] * (x.ndim - 2))
    if lrelu:
        x = F.leaky_relu(x, LRELU_SLOPE)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int = 1,
    pad: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = 1.0,
    down: int = 1,
) -> torch.Tensor:
    """Upsample by zero insertion, pad (x0, x1, y0, y1), convolve with the FIR filter f, keep
    every `down`-th sample. f is 2-D, or 1-D and applied along x then y (StyleGAN3's separable
    filters), scaled so the whole filter has gain `gain`; None is the identity filter."""
    if f is not None and f.ndim == 1:
        f = (f * gain**0.5).to(x.dtype)
        x = _separable_pass(x, f, up, pad[0], pad[1], down, dim=3)
        return _separable_pass(x, f, up, pad[2], pad[3], down, dim=2)
    n, c, h, w = x.shape
    if up > 1:
        # [N, C, H, 1, W, 1] -> zeros after each sample -> [N, C, H*up, W*up]
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = pad
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    if f is None:
        x = x * gain if gain != 1 else x
        return x[:, :, ::down, ::down] if down > 1 else x
    # conv2d correlates; the reference convolves, hence the flip. A strided conv computes only
    # the samples that downsampling keeps.
    weight = (f * gain).to(x.dtype).flip([0, 1])
    return F.conv2d(x, weight[None, None].repeat(c, 1, 1, 1), stride=down, groups=c)


def _separable_pass(
    x: torch.Tensor, f: torch.Tensor, up: int, pad0: int, pad1: int, down: int, dim: int
) -> torch.Tensor:
    """upfirdn along one axis (dim 3 = x, 2 = y) with a 1-D filter. Upsampling is a transposed
    conv, which skips the inserted zeros: output o of the reference (zero insertion, padding,
    convolution) is sample o + taps - 1 - pad0 of conv_transpose(x, f, stride=up)."""
    channels, taps = x.shape[1], f.shape[0]
    kernel = (1, taps) if dim == 3 else (taps, 1)
    stride = (1, up) if dim == 3 else (up, 1)
    if up > 1:
        length = x.shape[dim] * up + pad0 + pad1 - taps + 1
        weight = f.reshape(1, 1, *kernel).repeat(channels, 1, 1, 1)
        x = F.conv_transpose2d(x, weight, stride=stride, groups=channels)
        x = _window(x, dim, taps - 1 - pad0, length)
        return (
            x if down == 1 else x.index_select(dim, torch.arange(0, length, down, device=x.device))
        )
    x = _window(x, dim, -pad0, x.shape[dim] + pad0 + pad1)
    weight = f.flip(0).reshape(1, 1, *kernel).repeat(channels, 1, 1, 1)
    return F.conv2d(x, weight, stride=(1, down) if dim == 3 else (down, 1), groups=channels)


def _window(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """Samples start .. start + length - 1 of x along dim, zeros where that leaves x."""
    before, after = max(0, -start), max(0, start + length - x.shape[dim])
    if before or after:
        x = F.pad(x, [before, after] if dim == 3 else [0, 0, before, after])
    return x.narrow(dim, start + before, length)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Upsample an image by `up` with the FIR filter, as the reference upsample2d."""
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn2d(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)


def filtered_lrelu(
    x: torch.Tensor,
    up_filter: torch.Tensor | None,
    down_filter: torch.Tensor | None,
    bias: torch.Tensor,
    up: int,
    down: int,
    padding: tuple[int, int, int, int],
    lrelu: bool = True,
    gain: float = LRELU_GAIN,
    clamp: float | None = None,
) -> torch.Tensor:
    """StyleGAN3's alias-free activation, in the order of NVIDIA's reference filtered_lrelu: add
    the bias, upsample by `up` with up_filter and the layer's padding, leaky ReLU (or linear)
    times gain, clamp, downsample by `down` with down_filter (SPEC §3b)."""
    x = bias_act(x, bias, lrelu=False)
    x = upfirdn2d(x, up_filter, up=up, pad=padding, gain=up * up)
    x = bias_act(x, None, lrelu=lrelu, gain=gain, clamp=clamp)
    return upfirdn2d(x, down_filter, down=down)


def modulate_weights(
    weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, prenormalise: bool = False
) -> torch.Tensor:
    """The per-sample weights of StyleGAN2's modulated conv (eq. 1-3): [N, O, I, k, k].
    `prenormalise` (float16 inputs) scales weight and styles first against overflow;
    demodulation cancels the scale."""
    out_ch, in_ch, kh, kw = weight.shape
    if prenormalise and demodulate:
        weight = weight * (
            1 / math.sqrt(in_ch * kh * kw) / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
        )
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)
    return _modulate(weight, styles, demodulate)[0]


def _modulate(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool):
    """(w [N, O, I, k, k], dcoefs [N, O] or None): the modulation and demodulation of eq. 1-3."""
    batch = styles.shape[0]
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)  # [N, O, I, k, k]
    if not demodulate:
        return w, None
    dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]
    return w * dcoefs.reshape(batch, -1, 1, 1, 1), dcoefs


def demodulation(energy: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """Eq. 3's coefficients for style rows ([B, I]) from the weight's energy E_oi =
    sum_k W_oik^2 ([O, I]): d_o = (sum_i E_oi s_i^2 + 1e-8)^-1/2, [B, O]."""
    return (styles.square() @ energy.t() + 1e-8).rsqrt()


def input_modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    dcoefs: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
) -> torch.Tensor:
    """modulated_conv2d with demodulation `dcoefs`, done by scaling the input and the output
    instead of the weight (StyleGAN2's unfused path): conv(x * s, W) * d. `styles` ([B, I]) and
    `dcoefs` ([B, O]) hold one row for every sample of x, or one row ([1, I], [1, O]) for all of
    them (a drag's windows). The same values up to float rounding; no [O, I, k, k] tensor is made
    per style, and the backward computes no weight gradient: what a drag's step needs, whose
    windows are small next to the weights."""
    rows = styles.shape[0]
    x = x * styles.reshape(rows, -1, 1, 1).to(x.dtype)
    w = weight.to(x.dtype)
    if up > 1:
        x = _upsampling_conv(x, w, resample_filter, up, padding, groups=1)
    else:
        x = F.conv2d(x, w, padding=padding)
    x = x * dcoefs.reshape(rows, -1, 1, 1).to(x.dtype)
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor | None,
    noise: torch.Tensor | None = None,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    modulated: torch.Tensor | None = None,
) -> torch.Tensor:
    """Style-modulated convolution (StyleGAN2 eq. 1-3), one grouped conv for the whole batch.

    One style row ([1, I]) modulates every input of a batch alike: a plain conv over the batch
    (the crops of one image, nodes/gan/crop.py). `modulated`: modulate_weights' result for
    these styles, computed before (then styles may be None)."""
    if modulated is None:
        modulated = modulate_weights(weight, styles, demodulate, x.dtype == torch.float16)
    batch, _, in_ch, kh, kw = modulated.shape
    if batch > 1:
        x = x.reshape(1, -1, *x.shape[2:])  # fold the batch into groups
    w = modulated.reshape(-1, in_ch, kh, kw).to(x.dtype)
    if up > 1:
        x = _upsampling_conv(x, w, resample_filter, up, padding, groups=batch)
    else:
        x = F.conv2d(x, w, padding=padding, groups=batch)
    if batch > 1:
        x = x.reshape(batch, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def _upsampling_conv(
    x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, up: int, padding: int, groups: int
) -> torch.Tensor:
    """Transposed strided conv followed by the FIR filter: the reference conv2d_resample path."""
    out_total, in_per_group, kh, kw = w.shape
    fw = f.shape[-1]
    px0 = padding + (fw + up - 1) // 2 - (kw - 1)
    px1 = padding + (fw - up) // 2 - (kw - up)
    py0 = padding + (fw + up - 1) // 2 - (kh - 1)
    py1 = padding + (fw - up) // 2 - (kh - up)
    # [G*O, I, k, k] -> [G*I, O, k, k], the weight layout conv_transpose2d wants per group
    # (one group: a view, no copy of the weight).
    if groups == 1:
        w = w.transpose(0, 1)
    else:
        w = w.reshape(groups, out_total // groups, in_per_group, kh, kw).transpose(1, 2)
        w = w.reshape(groups * in_per_group, out_total // groups, kh, kw)
    pxt = max(min(-px0, -px1), 0)
    pyt = max(min(-py0, -py1), 0)
    x = F.conv_transpose2d(x, w, stride=up, padding=[pyt, pxt], groups=groups)
    return upfirdn2d(x, f, pad=(px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt), gain=up * up)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit root-mean-square (StyleGAN's z normalisation)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()
