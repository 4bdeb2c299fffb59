"""The StyleGAN2 generator (mapping + "skip" synthesis) with NVIDIA's state-dict names (SPEC §3).

Read top to bottom: config, fully connected layer, mapping network, modulated synthesis layer,
toRGB, synthesis block, synthesis network, generator.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .bounds import check_bounds, check_text_fields, shown
from .ops import (
    LRELU_GAIN,
    bias_act,
    demodulation,
    input_modulated_conv2d,
    modulated_conv2d,
    normalize_2nd_moment,
    setup_filter,
    upsample2d,
)

NOISE_MODES = ("const", "random", "none")
LATENT_SPACES = ("w+", "w")  # what an edit optimises: one w per layer (W+), or one w for all
PRECISIONS = ("float32", "float16", "bfloat16")


@dataclass
class GeneratorConfig:
    """Everything needed to rebuild a generator; stored as JSON in our checkpoints."""

    z_dim: int = 512
    w_dim: int = 512
    c_dim: int = 0
    img_resolution: int = 512
    img_channels: int = 3
    mapping_layers: int = 8
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = 256
    architecture: str = "skip"
    mapping_lr_multiplier: float = 0.01
    num_fp16_res: int = 4
    # Maps are r x (r / width_divisor) at every block: 2 for StyleGAN-Human's H x H/2 generators,
    # whose images and features are padded to H x H as the official DragGAN does (SPEC §3c).
    width_divisor: int = 1
    source: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.architecture != "skip":
            raise ValueError(
                f"only architecture 'skip' is supported, got {shown(self.architecture)}"
            )
        check_bounds(self)  # typed, finite, bounded: a config is data from someone else
        check_text_fields(self)
        res = self.img_resolution
        if res & (res - 1):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {res}")
        if self.channel_base < res:
            raise ValueError(
                f"channel_base ({self.channel_base}) must be at least img_resolution ({res}): "
                "channels at resolution r are channel_base // r"
            )

    def channels(self, resolution: int) -> int:
        return min(self.channel_base // resolution, self.channel_max)

    @property
    def img_width(self) -> int:
        """Width of the images the synthesis draws (img_resolution unless rectangular)."""
        return self.img_resolution // self.width_divisor

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class FullyConnectedLayer(nn.Module):
    """Equalised-learning-rate linear layer: weights scaled by lr_multiplier / sqrt(fan_in) at run time."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        lrelu: bool = False,
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.lrelu = lrelu
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype)
        if self.bias_gain != 1:
            b = b * self.bias_gain
        if not self.lrelu:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, lrelu=True, gain=LRELU_GAIN)


class MappingNetwork(nn.Module):
    """z (and class label c) -> w, broadcast to num_ws rows, with truncation towards w_avg."""

    def __init__(self, cfg: GeneratorConfig, num_ws: int):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = cfg.z_dim, cfg.c_dim, cfg.w_dim, num_ws
        embed = cfg.w_dim if cfg.c_dim > 0 else 0
        if cfg.c_dim > 0:
            self.embed = FullyConnectedLayer(cfg.c_dim, embed)
        features = [cfg.z_dim + embed] + [cfg.w_dim] * cfg.mapping_layers
        self.num_layers = cfg.mapping_layers
        for i in range(cfg.mapping_layers):
            layer = FullyConnectedLayer(
                features[i], features[i + 1], lrelu=True, lr_multiplier=cfg.mapping_lr_multiplier
            )
            setattr(self, f"fc{i}", layer)
        self.register_buffer("w_avg", torch.zeros([cfg.w_dim]))

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        x = normalize_2nd_moment(z.float())
        if self.c_dim > 0:
            if c is None:
                raise ValueError(
                    f"this generator is conditional (c_dim={self.c_dim}): pass a class label c"
                )
            y = normalize_2nd_moment(self.embed(c.float()))
            x = torch.cat([x, y], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])  # [N, num_ws, w_dim]
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            head = self.w_avg.lerp(x[:, :cutoff], truncation_psi)
            x = torch.cat([head, x[:, cutoff:]], dim=1)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x upsampling) + noise + bias + leaky ReLU + clamp."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        up: int = 1,
        conv_clamp: float | None = None,
        width: int | None = None,
    ):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.width = resolution if width is None else width  # < resolution: rectangular maps
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("noise_const", torch.randn([resolution, self.width]))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("resample_filter", setup_filter([1, 3, 3, 1]))

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "const",
        padding: int = 1,
        noise: torch.Tensor | None = None,
        memo: ModulationMemo | None = None,
    ) -> torch.Tensor:
        """The layer on the whole map; cropped synthesis (nodes/gan/crop.py) passes padding=0 (a
        'valid' conv over a window that carries its halo) and the noise of the output window. With
        a `memo` (a drag's steps) the input is modulated instead of the weight (ModulationMemo)."""
        if noise is None:
            noise = self.noise_map(noise_mode, x.shape[0], x.device)
        modulation = None if memo is None else memo.modulation(self, w, x.dtype)
        if modulation is not None:
            x = input_modulated_conv2d(
                x, self.weight, *modulation, noise, self.up, padding, self.resample_filter
            )
        else:
            x = modulated_conv2d(
                x,
                self.weight,
                self.affine(w),
                noise,
                up=self.up,
                padding=padding,
                resample_filter=self.resample_filter,
            )
        return bias_act(
            x, self.bias.to(x.dtype), lrelu=True, gain=LRELU_GAIN, clamp=self.conv_clamp
        )

    def noise_map(self, noise_mode: str, batch: int, device: torch.device) -> torch.Tensor | None:
        """The per-pixel noise added after the conv, scaled: [R, W] ('const'), [batch, 1, R, W]
        ('random', fresh each call) or None ('none'); W = R except in rectangular generators."""
        if noise_mode == "random":
            return (
                torch.randn([batch, 1, self.resolution, self.width], device=device)
                * self.noise_strength
            )
        if noise_mode == "const":
            return self.noise_const * self.noise_strength
        return None


class ModulationMemo:
    """How a drag modulates its convs, step after step: by the input, not the weight
    (ops.input_modulated_conv2d), so a step makes no per-style copy of any weight and its
    backward no weight gradient. The styles and demodulation of a W row that comes again
    unchanged (the rows a drag does not optimise) are computed once; a row that wants a
    gradient gets them anew from the layer's weight energy ([O, I], computed once). The same
    numbers as the plain path up to float rounding; for one generator whose weights stay fixed
    while the memo lives. One drag's rows ([1, w_dim]) modulate all its windows; a batch of
    drags (nodes.drag.many) brings one row per sample ([B, w_dim]).

    `fixed_rows`: the caller promises that, while gradients are on, a layer's row without a
    gradient is a fixed row that stays the same until `forget()` (a drag's steps: its rows past
    `layers`, detached, come from its starting code; the rows it optimises carry a gradient). Its
    kept modulation is then reused without comparing the row's values, which on a GPU is a device
    sync per layer and step. Calls without gradients (a drag's tracking-only syntheses, where
    every row comes detached) compare as before."""

    def __init__(self, fixed_rows: bool = False):
        self.fixed_rows = fixed_rows
        self._kept: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._energy: dict[int, torch.Tensor] = {}

    def forget(self) -> None:
        """Drop the kept modulations (the fixed rows change: a batch of drags took in others);
        the layers' weight energies stay."""
        self._kept.clear()

    def modulation(
        self, layer: SynthesisLayer, w: torch.Tensor, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(styles [B, I], demodulation [B, O]) of layer for w ([B, w_dim]), or None: the plain
        path (float16's pre-normalisation, a weight that wants a gradient)."""
        if dtype == torch.float16 or layer.weight.requires_grad:
            return None
        if w.requires_grad:
            styles = layer.affine(w)
            return styles, demodulation(self._energy_of(layer), styles)
        kept = self._kept.get(id(layer))
        if kept is None or not self._same_row(kept[0], w):
            styles = layer.affine(w)
            kept = (w.clone(), styles, demodulation(self._energy_of(layer), styles))
            self._kept[id(layer)] = kept
        return kept[1], kept[2]

    def _same_row(self, kept: torch.Tensor, w: torch.Tensor) -> bool:
        if self.fixed_rows and torch.is_grad_enabled():
            return kept.shape == w.shape and kept.dtype == w.dtype and kept.device == w.device
        return torch.equal(kept, w)

    def _energy_of(self, layer: SynthesisLayer) -> torch.Tensor:
        """E_oi = sum_k W_oik^2 ([O, I]), computed once per layer."""
        key = id(layer)
        if key not in self._energy:
            self._energy[key] = layer.weight.square().sum(dim=[2, 3])
        return self._energy[key]


class ToRGBLayer(nn.Module):
    """1x1 modulated conv to RGB without demodulation; weight_gain 1/sqrt(in_channels)."""

    def __init__(
        self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None
    ):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias.to(x.dtype), lrelu=False, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const | conv0 up) -> conv1 -> torgb, adding to the upsampled skip image.

    A rectangular block (StyleGAN-Human, maps r x r/2) computes on its r x r/2 maps and hands on
    features padded to r x r with zeros and images padded with white (1), as the official DragGAN
    pads them; it crops its inputs back to their centre first, so the result is the rectangular
    generator's exactly and every caller sees square maps (SPEC §3c)."""

    def __init__(self, in_channels: int, out_channels: int, cfg: GeneratorConfig, resolution: int):
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        self.width_divisor = cfg.width_divisor
        width = resolution // cfg.width_divisor
        self.register_buffer("resample_filter", setup_filter([1, 3, 3, 1]))
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, width]))
        else:
            self.conv0 = SynthesisLayer(
                in_channels,
                out_channels,
                cfg.w_dim,
                resolution,
                up=2,
                conv_clamp=cfg.conv_clamp,
                width=width,
            )
        self.conv1 = SynthesisLayer(
            out_channels,
            out_channels,
            cfg.w_dim,
            resolution,
            conv_clamp=cfg.conv_clamp,
            width=width,
        )
        self.torgb = ToRGBLayer(
            out_channels, cfg.img_channels, cfg.w_dim, conv_clamp=cfg.conv_clamp
        )
        # float16/bfloat16 for the upper blocks on CUDA (Generator.set_precision)
        self.dtype = torch.float32

    def forward(
        self,
        x: torch.Tensor | None,
        ws: torch.Tensor,
        noise_mode: str = "const",
        memo: ModulationMemo | None = None,
    ) -> torch.Tensor:
        """Features of this block: ws holds its conv rows ([N, num_conv, w_dim]); `memo` as in
        SynthesisLayer.forward."""
        dtype = self.working_dtype(ws.device)
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, ws[:, 0], noise_mode, memo=memo)
        else:
            x = self.conv0(self._content(x).to(dtype), ws[:, 0], noise_mode, memo=memo)
            x = self.conv1(x, ws[:, 1], noise_mode, memo=memo)
        return self._padded(x, 0.0)

    def working_dtype(self, device: torch.device) -> torch.dtype:
        """The dtype the convs run in: `dtype` on CUDA when set_precision chose a half type, else
        the weights' (float32; float64 for a generator made .double() for exactness checks)."""
        if device.type == "cuda" and self.dtype != torch.float32:
            return self.dtype
        return self.conv1.weight.dtype

    def to_rgb(self, x: torch.Tensor, img: torch.Tensor | None, w: torch.Tensor) -> torch.Tensor:
        """Skip architecture: upsample the running image and add this block's RGB."""
        y = self.torgb(self._content(x), w).float()
        if img is not None:
            y = upsample2d(self._content(img), self.resample_filter) + y
        return self._padded(y, 1.0)

    def _content(self, x: torch.Tensor) -> torch.Tensor:
        """The centre r x r/2 of a padded map of a rectangular block (the map itself if square)."""
        width = x.shape[-2] // self.width_divisor
        left = (x.shape[-1] - width) // 2
        return x if left == 0 else x[..., left : left + width]

    def _padded(self, x: torch.Tensor, value: float) -> torch.Tensor:
        """x padded left and right to a square with `value` (DragGAN's padding=True)."""
        pad = x.shape[-2] - x.shape[-1]
        return x if pad == 0 else F.pad(x, (pad // 2, pad - pad // 2), value=value)


class SynthesisNetwork(nn.Module):
    """W+ code -> image, block by block from 4x4; can return block features and stop early."""

    # Every layer is local (3x3 convs, the [1, 3, 3, 1] upsampling filter, per-pixel noise and
    # bias), so a block can be computed on windows with a halo (nodes/gan/crop.py, SPEC §2).
    supports_crops = True

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        # A rectangular generator's blocks pad their maps (SynthesisBlock): its crops would need
        # windows in the padded square mapped to the content; it runs whole instead.
        self.supports_crops = cfg.width_divisor == 1
        self.img_resolution = cfg.img_resolution
        log2 = int(math.log2(cfg.img_resolution))
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        self.num_ws = 0
        for res in self.block_resolutions:
            in_ch = cfg.channels(res // 2) if res > 4 else 0
            block = SynthesisBlock(in_ch, cfg.channels(res), cfg, res)
            setattr(self, f"b{res}", block)
            self.num_ws += block.num_conv
        self.num_ws += 1  # the last block's torgb

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: str = "const",
        return_features: bool = False,
        stop_at_block: int | None = None,
    ):
        """Image [N, C, H, H] (a rectangular generator's padded with white, its features with
        zeros); with return_features (image, block features); with stop_at_block
        only the features of blocks 0..k, computing nothing above block k and no image."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be [N, {self.num_ws}, w_dim], got {list(ws.shape)}")
        blocks = self.blocks()
        if stop_at_block is not None and not 0 <= stop_at_block < len(blocks):
            raise ValueError(f"stop_at_block must be in 0..{len(blocks) - 1}, got {stop_at_block}")
        features: list[torch.Tensor] = []
        x = img = None
        w_idx = 0
        for k, block in enumerate(blocks):
            x = block(x, ws[:, w_idx : w_idx + block.num_conv], noise_mode)
            features.append(x)
            if stop_at_block is not None:
                if k == stop_at_block:
                    return features
            else:
                # torgb of block k shares its w row with conv0 of block k + 1 (NVIDIA's layout).
                img = block.to_rgb(x, img, ws[:, w_idx + block.num_conv])
            w_idx += block.num_conv
        return (img, features) if return_features else img


class Generator(nn.Module):
    """StyleGAN2 generator: G(z) = synthesis(mapping(z, c))."""

    def __init__(self, cfg: GeneratorConfig | None = None, **kwargs):
        super().__init__()
        self.config = cfg if cfg is not None else GeneratorConfig(**kwargs)
        self.z_dim, self.c_dim, self.w_dim = self.config.z_dim, self.config.c_dim, self.config.w_dim
        self.img_resolution, self.img_channels = (
            self.config.img_resolution,
            self.config.img_channels,
        )
        self.synthesis = SynthesisNetwork(self.config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(self.config, self.num_ws)
        self.precision = "float32"

    @property
    def block_resolutions(self) -> list[int]:
        return self.synthesis.block_resolutions

    @property
    def device(self) -> torch.device:
        return self.synthesis.b4.const.device

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
    ) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)

    def set_precision(self, precision: str) -> Generator:
        """Run the top `num_fp16_res` blocks in float16/bfloat16 on CUDA (float32 on the CPU).

        Documented tolerance, checked by tests/gan/test_cuda.py where a GPU is present: images
        within 2e-2 max abs of float32 for float16 and 5e-2 for bfloat16 (conv_clamp bounds the
        activations); float32 is exact. NVIDIA's code in float16 on the CPU differed from float32
        by 4.7e-3 on a 64 px model with two half blocks."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        dtype = getattr(torch, precision)
        n_half = self.config.num_fp16_res
        blocks = self.synthesis.blocks()
        for i, block in enumerate(blocks):
            use_half = (
                precision != "float32" and i >= len(blocks) - n_half and block.resolution >= 8
            )
            block.dtype = dtype if use_half else torch.float32
        return self

    def random_ws(self, seed: int, truncation_psi: float = 1.0) -> torch.Tensor:
        """The W+ code of seed's z, drawn as the official StyleGAN/DragGAN tools draw it
        (numpy RandomState(seed).randn), so a seed shows the same image as there."""
        z = (
            torch.from_numpy(np.random.RandomState(int(seed)).randn(1, self.z_dim))
            .float()
            .to(self.device)
        )
        c = torch.zeros([1, self.c_dim], device=self.device) if self.c_dim else None
        with torch.no_grad():
            return self.mapping(z, c, truncation_psi=truncation_psi)
