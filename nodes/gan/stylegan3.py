"""The StyleGAN3 generator (alias-free; configs T and R) with NVIDIA's state-dict names (SPEC §3b).

Read top to bottom: config, layer geometry (the geometric progressions of cutoffs, stopbands and
sampling rates), modulated conv, Fourier-feature input, synthesis layer, synthesis network,
generator. The mapping network is StyleGAN2's. Filters are buffers: a loaded generator uses the
checkpoint's, so loading designs nothing and needs no scipy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .bounds import check_bounds, check_text_fields
from .filters import lowpass_filter
from .model import NOISE_MODES, PRECISIONS, FullyConnectedLayer, Generator, MappingNetwork
from .ops import LRELU_GAIN, filtered_lrelu

ARCHITECTURE = "stylegan3"

# (field, smallest, largest) of the integer fields: a checkpoint's config is data from someone
# else, so nothing is built from values outside these.
_INT_BOUNDS = (
    ("z_dim", 1, 4096),
    ("w_dim", 1, 4096),
    ("c_dim", 0, 100_000),
    ("img_resolution", 4, 4096),
    ("img_channels", 1, 4),
    ("mapping_layers", 1, 32),
    ("channel_base", 1, 1 << 20),
    ("channel_max", 1, 4096),
    ("num_layers", 1, 64),
    ("num_critical", 0, 63),
    ("margin_size", 0, 256),
    ("num_fp16_res", 0, 32),
    ("conv_kernel", 1, 7),
    ("filter_size", 1, 32),
    ("lrelu_upsampling", 1, 8),
)
_FLOAT_BOUNDS = (
    ("mapping_lr_multiplier", 1e-6, 1e3),
    ("first_cutoff", 1e-3, 4096.0),
    ("first_stopband", 1e-3, 8192.0),
    ("last_stopband_rel", 1.0, 16.0),
    ("output_scale", 1e-6, 1e3),
)


@dataclass
class StyleGAN3Config:
    """Everything needed to rebuild a StyleGAN3 generator; NVIDIA's argument names and defaults.

    T: conv_kernel 3, separable filters. R: conv_kernel 1, use_radial_filters (and, in NVIDIA's
    training config, twice the channels)."""

    z_dim: int = 512
    w_dim: int = 512
    c_dim: int = 0
    img_resolution: int = 1024
    img_channels: int = 3
    mapping_layers: int = 2
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    num_fp16_res: int = 4
    conv_kernel: int = 3
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False
    conv_clamp: float | None = 256
    architecture: str = ARCHITECTURE
    source: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.architecture != ARCHITECTURE:
            raise ValueError(f"architecture must be {ARCHITECTURE!r}, got {self.architecture!r}")
        check_bounds(self, _INT_BOUNDS, _FLOAT_BOUNDS)
        check_text_fields(self)
        res = self.img_resolution
        if res & (res - 1):
            raise ValueError(f"img_resolution must be a power of two, got {res}")
        if self.num_critical >= self.num_layers:
            raise ValueError(
                f"num_critical ({self.num_critical}) must be below num_layers ({self.num_layers})"
            )
        if not isinstance(self.use_radial_filters, bool):
            raise ValueError(
                f"use_radial_filters must be true or false, got {self.use_radial_filters!r}"
            )

    @property
    def variant(self) -> str:
        """'T' (3x3 convs, separable filters), 'R' (1x1 convs, radial filters) or 'custom'."""
        if self.conv_kernel == 3 and not self.use_radial_filters:
            return "T"
        if self.conv_kernel == 1 and self.use_radial_filters:
            return "R"
        return "custom"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StyleGAN3Config:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# --- Layer geometry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    """The Fourier-feature input: channels, size (with margins), sampling rate, bandwidth."""

    channels: int
    size: int
    sampling_rate: float
    bandwidth: float


@dataclass(frozen=True)
class LayerSpec:
    """One synthesis layer's hyper-parameters, as NVIDIA's SynthesisLayer derives them."""

    name: str
    is_torgb: bool
    is_critically_sampled: bool
    use_fp16: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_sampling_rate: int
    out_sampling_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    conv_kernel: int
    tmp_sampling_rate: int
    up_factor: int
    down_factor: int
    up_taps: int
    down_taps: int
    down_radial: bool
    padding: tuple[int, int, int, int]


def layer_geometry(cfg: StyleGAN3Config) -> tuple[InputSpec, list[LayerSpec]]:
    """The input's and each layer's geometry (SPEC §3b), in float64 as NVIDIA computes it.

    Cutoffs and minimum stopbands grow geometrically from the first layer to the last
    num_critical layers; sampling rates are the next power of two of 2 * stopband (capped at
    the image size); sizes add the margin on both sides, except the last two layers."""
    last_cutoff = cfg.img_resolution / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    exponents = np.minimum(np.arange(cfg.num_layers + 1) / (cfg.num_layers - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exponents
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, cfg.img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = cfg.img_resolution
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels
    if channels.min() < 1:
        raise ValueError(f"channel_base {cfg.channel_base} leaves a layer without channels")
    input_spec = InputSpec(int(channels[0]), int(sizes[0]), float(rates[0]), float(cutoffs[0]))
    specs = []
    for idx in range(cfg.num_layers + 1):
        prev = max(idx - 1, 0)
        is_torgb = idx == cfg.num_layers
        in_rate, out_rate = int(rates[prev]), int(rates[idx])
        tmp_rate = max(in_rate, out_rate) * (1 if is_torgb else cfg.lrelu_upsampling)
        up, down = tmp_rate // in_rate, tmp_rate // out_rate
        up_taps = cfg.filter_size * up if up > 1 and not is_torgb else 1
        down_taps = cfg.filter_size * down if down > 1 and not is_torgb else 1
        kernel = 1 if is_torgb else cfg.conv_kernel
        in_size, out_size = int(sizes[prev]), int(sizes[idx])
        # Padding so the output has out_size samples, centred as NVIDIA's Appendix C.3 says.
        pad_total = (
            (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        )
        pad_lo = (pad_total + up) // 2
        pad_hi = pad_total - pad_lo
        is_critical = idx >= cfg.num_layers - cfg.num_critical
        specs.append(
            LayerSpec(
                name=f"L{idx}_{out_size}_{int(channels[idx])}",
                is_torgb=is_torgb,
                is_critically_sampled=is_critical,
                use_fp16=bool(rates[idx] * 2**cfg.num_fp16_res > cfg.img_resolution),
                in_channels=int(channels[prev]),
                out_channels=int(channels[idx]),
                in_size=in_size,
                out_size=out_size,
                in_sampling_rate=in_rate,
                out_sampling_rate=out_rate,
                in_cutoff=float(cutoffs[prev]),
                out_cutoff=float(cutoffs[idx]),
                in_half_width=float(half_widths[prev]),
                out_half_width=float(half_widths[idx]),
                conv_kernel=kernel,
                tmp_sampling_rate=tmp_rate,
                up_factor=up,
                down_factor=down,
                up_taps=up_taps,
                down_taps=down_taps,
                down_radial=cfg.use_radial_filters and not is_critical,
                padding=(pad_lo, pad_hi, pad_lo, pad_hi),
            )
        )
    return input_spec, specs


# --- Modules --------------------------------------------------------------------------------------


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool,
    padding: int,
    input_gain: torch.Tensor,
) -> torch.Tensor:
    """StyleGAN3's modulated conv: unlike StyleGAN2's, demodulation first normalises the weight
    per output channel and the styles over the whole [batch, in] tensor (so a batch is scaled
    together), and the input gain (magnitude EMA^-1/2) scales the per-sample weight."""
    batch = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if demodulate:
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]
        w = w * dcoefs.reshape(batch, -1, 1, 1, 1)
    w = w * input_gain.expand(batch, in_ch).reshape(batch, 1, -1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])  # fold the batch into groups
    x = nn.functional.conv2d(
        x, w.reshape(-1, in_ch, kh, kw).to(x.dtype), padding=padding, groups=batch
    )
    return x.reshape(batch, -1, *x.shape[2:])


class SynthesisInput(nn.Module):
    """Fourier features: sinusoids of fixed frequencies and phases on a grid, rotated and
    translated by an affine of w, then the user's inverse `transform`, then a learned mixing."""

    def __init__(self, w_dim: int, spec: InputSpec):
        super().__init__()
        self.channels, self.size = spec.channels, spec.size
        self.sampling_rate, self.bandwidth = spec.sampling_rate, spec.bandwidth
        # Random frequencies inside the band (a fresh generator only; checkpoints bring theirs).
        freqs = torch.randn([self.channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * self.bandwidth
        self.weight = nn.Parameter(torch.randn([self.channels, self.channels]))
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))  # identity rotation
        self.register_buffer("transform", torch.eye(3, 3))  # the user's inverse transform
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([self.channels]) - 0.5)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        batch = w.shape[0]
        t = self.affine(w)  # (r_c, r_s, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device).repeat([batch, 1, 1])  # inverse rotation
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = torch.eye(3, device=w.device).repeat([batch, 1, 1])  # inverse translation
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = m_r @ m_t @ self.transform.unsqueeze(0)  # rotate, translate, then the user's
        freqs = self.freqs.unsqueeze(0)  # [N, C, 2]
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        # Frequencies the user transform pushed out of band fade out instead of aliasing.
        amplitudes = (
            1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)
        ).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grid = nn.functional.affine_grid(
            theta.unsqueeze(0), [1, 1, self.size, self.size], align_corners=False
        )
        # [1, H, W, 1, 2] @ [N, 1, 1, 2, C] -> [N, H, W, C]
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)
        x = torch.sin((x + phases.unsqueeze(1).unsqueeze(2)) * (2 * math.pi))
        x = x * amplitudes.unsqueeze(1).unsqueeze(2)
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)  # [N, C, H, W]


class SynthesisLayer(nn.Module):
    """Modulated conv (with the magnitude-EMA input gain) then filtered leaky ReLU; the last
    layer is ToRGB: 1x1, no demodulation, styles / sqrt(in_channels), linear."""

    def __init__(self, w_dim: int, spec: LayerSpec, conv_clamp: float | None):
        super().__init__()
        self.spec, self.conv_clamp = spec, conv_clamp
        k = spec.conv_kernel
        self.affine = FullyConnectedLayer(w_dim, spec.in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([spec.out_channels, spec.in_channels, k, k]))
        self.bias = nn.Parameter(torch.zeros([spec.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))
        up = lowpass_filter(
            spec.up_taps, spec.in_cutoff, spec.in_half_width * 2, spec.tmp_sampling_rate
        )
        down = lowpass_filter(
            spec.down_taps,
            spec.out_cutoff,
            spec.out_half_width * 2,
            spec.tmp_sampling_rate,
            radial=spec.down_radial,
        )
        self.register_buffer("up_filter", up)
        self.register_buffer("down_filter", down)
        self.dtype = (
            torch.float32
        )  # float16/bfloat16 on CUDA for the use_fp16 layers (set_precision)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        spec = self.spec
        dtype = self.dtype if x.device.type == "cuda" else torch.float32
        styles = self.affine(w)
        if spec.is_torgb:
            styles = styles / math.sqrt(spec.in_channels * spec.conv_kernel**2)
        x = modulated_conv2d(
            x.to(dtype),
            self.weight,
            styles,
            not spec.is_torgb,
            spec.conv_kernel - 1,
            self.magnitude_ema.rsqrt(),
        )
        return filtered_lrelu(
            x,
            self.up_filter,
            self.down_filter,
            self.bias.to(x.dtype),
            spec.up_factor,
            spec.down_factor,
            spec.padding,
            lrelu=not spec.is_torgb,
            gain=1.0 if spec.is_torgb else LRELU_GAIN,
            clamp=self.conv_clamp,
        )


class FeatureStage:
    """Synthesis layer k seen as the drag engine's feature block k: it takes `num_conv` W+ rows
    (layer 0 also runs the Fourier input, from row 0) and returns the layer's output."""

    def __init__(self, layer: SynthesisLayer, fourier_input: SynthesisInput | None = None):
        self.layer, self.fourier_input = layer, fourier_input
        self.num_conv = 1 if fourier_input is None else 2

    def __call__(
        self, x: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "const"
    ) -> torch.Tensor:
        if self.fourier_input is not None:
            x = self.fourier_input(ws[:, 0])
        return self.layer(x, ws[:, -1])


class SynthesisNetwork(nn.Module):
    """W+ code -> image: ws[0] drives the input, ws[i + 1] layer i; can return every layer's
    output (DragGAN's features) and stop after layer k."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        self.img_resolution, self.output_scale = cfg.img_resolution, cfg.output_scale
        input_spec, specs = layer_geometry(cfg)
        self.input = SynthesisInput(cfg.w_dim, input_spec)
        self.layer_names = [spec.name for spec in specs]
        for spec in specs:
            setattr(self, spec.name, SynthesisLayer(cfg.w_dim, spec, cfg.conv_clamp))
        self.num_ws = cfg.num_layers + 2
        self.block_resolutions = [spec.out_size for spec in specs]

    def layers(self) -> list[SynthesisLayer]:
        return [getattr(self, name) for name in self.layer_names]

    def blocks(self) -> list[FeatureStage]:
        """The layers as feature blocks (the interface nodes.drag uses for both families)."""
        layers = self.layers()
        return [FeatureStage(layers[0], self.input)] + [FeatureStage(layer) for layer in layers[1:]]

    def forward(
        self,
        ws: torch.Tensor,
        noise_mode: str = "const",
        return_features: bool = False,
        stop_at_block: int | None = None,
    ):
        """Image [N, C, H, W]; with return_features (image, layer outputs); with stop_at_block
        only the outputs of layers 0..k. StyleGAN3 has no noise: noise_mode is checked, unused."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be [N, {self.num_ws}, w_dim], got {list(ws.shape)}")
        layers = self.layers()
        if stop_at_block is not None and not 0 <= stop_at_block < len(layers):
            raise ValueError(f"stop_at_block must be in 0..{len(layers) - 1}, got {stop_at_block}")
        ws = ws.float()
        x = self.input(ws[:, 0])
        features: list[torch.Tensor] = []
        for k, layer in enumerate(layers):
            x = layer(x, ws[:, k + 1])
            features.append(x)
            if k == stop_at_block:
                return features
        img = (x * self.output_scale if self.output_scale != 1 else x).float()
        return (img, features) if return_features else img


def input_transform_matrix(
    translate_x: float, translate_y: float, rotate_degrees: float
) -> np.ndarray:
    """The input's `transform` buffer for a translation (in image widths) and a rotation, as the
    official StyleGAN3 tools set it: the inverse of [[cos, sin, x], [-sin, cos, y], [0, 0, 1]]."""
    angle = math.radians(rotate_degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    m = np.array([[cos, sin, translate_x], [-sin, cos, translate_y], [0.0, 0.0, 1.0]])
    return np.linalg.inv(m)


class StyleGAN3Generator(nn.Module):
    """StyleGAN3 generator: G(z) = synthesis(mapping(z, c)); the drag engine's interface is
    StyleGAN2's (num_ws, block_resolutions, synthesis(ws, stop_at_block=k), random_ws)."""

    def __init__(self, cfg: StyleGAN3Config | None = None, **kwargs):
        super().__init__()
        self.config = cfg if cfg is not None else StyleGAN3Config(**kwargs)
        self.z_dim, self.c_dim, self.w_dim = self.config.z_dim, self.config.c_dim, self.config.w_dim
        self.img_resolution, self.img_channels = (
            self.config.img_resolution,
            self.config.img_channels,
        )
        self.synthesis = SynthesisNetwork(self.config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(self.config, self.num_ws)
        self.precision = "float32"

    # The same code as StyleGAN2's: G(z) and the official seed -> W+ sampling.
    forward = Generator.forward
    random_ws = Generator.random_ws

    @property
    def block_resolutions(self) -> list[int]:
        """The size of each layer's output (feature block), margins included."""
        return self.synthesis.block_resolutions

    @property
    def device(self) -> torch.device:
        return self.synthesis.input.weight.device

    def set_precision(self, precision: str) -> StyleGAN3Generator:
        """Run NVIDIA's use_fp16 layers (the top num_fp16_res sampling rates) in float16/bfloat16
        on CUDA; float32 on the CPU."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        for layer in self.synthesis.layers():
            half = precision != "float32" and layer.spec.use_fp16
            layer.dtype = getattr(torch, precision) if half else torch.float32
        return self

    def set_input_transform(
        self, translate_x: float = 0.0, translate_y: float = 0.0, rotate: float = 0.0
    ) -> StyleGAN3Generator:
        """Translate (in image widths) and rotate (in degrees: the official GUI's Rotate value,
        which counts turns, times 360) what the generator draws, as the official GUI's Translate
        and Rotate do; (0, 0, 0) is the identity."""
        matrix = input_transform_matrix(translate_x, translate_y, rotate)
        self.synthesis.input.transform.copy_(torch.from_numpy(matrix))
        return self
