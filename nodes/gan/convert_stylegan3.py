"""The config of an NVIDIA StyleGAN3 G_ema read from a network pickle (SPEC §3b).

The config comes from G_ema's init_kwargs (or, without them, from the layer names of its
tensors with NVIDIA's defaults); the geometry it implies is then checked against every
hyper-parameter the pickle stores on its layers (sizes, sampling rates, cutoffs, up/down
factors, padding), so a pickle whose layers were built differently is refused, not misread.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import torch

from .convert import ConversionError, PersistentModule
from .stylegan3 import InputSpec, LayerSpec, StyleGAN3Config, layer_geometry

# NVIDIA's SynthesisNetwork / SynthesisLayer arguments we rebuild from (the stylegan3 repo passes
# them flat in G's init_kwargs; a nested synthesis_kwargs is read too).
_SYNTHESIS_KEYS = (
    "channel_base",
    "channel_max",
    "num_layers",
    "num_critical",
    "first_cutoff",
    "first_stopband",
    "last_stopband_rel",
    "margin_size",
    "output_scale",
    "num_fp16_res",
    "conv_kernel",
    "filter_size",
    "lrelu_upsampling",
    "use_radial_filters",
    "conv_clamp",
)
_LAYER_NAME = re.compile(r"synthesis\.(L(\d+)_(\d+)_(\d+))\.weight")


def is_stylegan3(tensors: dict[str, torch.Tensor]) -> bool:
    """Whether a G_ema state dict is StyleGAN3's (its Fourier-feature input)."""
    return "synthesis.input.freqs" in tensors


def stylegan3_config(
    G_ema: PersistentModule, tensors: dict[str, torch.Tensor], source: str
) -> StyleGAN3Config:
    """The StyleGAN3Config of a pickled G_ema, checked against the
    hyper-parameters stored on its synthesis layers."""
    kwargs = G_ema.init_kwargs
    mapping = dict(kwargs.get("mapping_kwargs") or {})
    synthesis = dict(kwargs.get("synthesis_kwargs") or {})
    synthesis.update({k: kwargs[k] for k in _SYNTHESIS_KEYS if k in kwargs})
    if kwargs:
        fields = {
            k: kwargs[k]
            for k in ("z_dim", "w_dim", "c_dim", "img_resolution", "img_channels")
            if k in kwargs
        }
        fields.update({k: synthesis[k] for k in _SYNTHESIS_KEYS if k in synthesis})
        fields["conv_clamp"] = synthesis.get("conv_clamp", 256)  # StyleGAN3's layer default
        note = "config from G_ema init_kwargs"
    else:
        fields = _infer_from_tensors(tensors, source)
        note = "config inferred from layer names with NVIDIA's defaults"
    fields["mapping_layers"] = mapping.get("num_layers", _count_mapping_layers(tensors))
    fields["mapping_lr_multiplier"] = mapping.get("lr_multiplier", 0.01)
    fields["source"] = (
        f"converted from {Path(source).name} (NVIDIA network pickle, G_ema, StyleGAN3; {note})"
    )
    try:
        cfg = StyleGAN3Config(**_plain(fields))
        input_spec, specs = layer_geometry(cfg)
    except (TypeError, ValueError) as e:
        raise ConversionError(f"{source}: unusable StyleGAN3 config {fields}: {e}") from e
    _check_stored_geometry(G_ema, input_spec, specs, source)
    return cfg


def _plain(fields: dict) -> dict:
    """numpy scalars and ints-as-floats from the pickle -> the JSON-able types of the config."""
    out = {}
    for key, value in fields.items():
        if isinstance(value, np.generic):
            value = value.item()
        if key == "conv_clamp" and value is not None:
            value = float(value)
        out[key] = value
    return out


def _count_mapping_layers(tensors: dict[str, torch.Tensor]) -> int:
    return sum(1 for k in tensors if re.fullmatch(r"mapping\.fc\d+\.weight", k))


def _layer_names(tensors: dict[str, torch.Tensor]) -> dict[int, tuple[str, int, int]]:
    """{index: (name, size, channels)} of the synthesis layers in a state dict."""
    layers = {}
    for key in tensors:
        match = _LAYER_NAME.fullmatch(key)
        if match:
            layers[int(match[2])] = (match[1], int(match[3]), int(match[4]))
    return layers


def _infer_from_tensors(tensors: dict[str, torch.Tensor], source: str) -> dict:
    """A config for a pickle without init_kwargs: dims from shapes, the geometry NVIDIA's defaults
    give, channel_base the power of two whose layer names match the tensors'."""
    layers = _layer_names(tensors)
    if not layers or sorted(layers) != list(range(len(layers))):
        raise ConversionError(
            f"{source}: the StyleGAN3 synthesis layers L0.. are missing or not numbered 0..N"
        )
    last = len(layers) - 1
    first_weight = tensors[f"synthesis.{layers[0][0]}.weight"]
    c_dim = tensors["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in tensors else 0
    embed = tensors["mapping.embed.weight"].shape[0] if c_dim else 0
    radial = any(
        t.ndim == 2
        for k, t in tensors.items()
        if k.startswith("synthesis.L") and k.endswith(".down_filter")
    )
    base = dict(
        z_dim=tensors["mapping.fc0.weight"].shape[1] - embed,
        w_dim=tensors["mapping.w_avg"].shape[0],
        c_dim=c_dim,
        img_resolution=layers[last][1],
        img_channels=layers[last][2],
        num_layers=last,
        conv_kernel=first_weight.shape[-1],
        use_radial_filters=radial,
        channel_max=layers[0][2],
        conv_clamp=256,
    )
    wanted = [layers[i][0] for i in range(len(layers))]
    for log2 in range(8, 21):
        try:
            _, specs = layer_geometry(StyleGAN3Config(**base, channel_base=2**log2))
        except ValueError:
            continue
        if [spec.name for spec in specs] == wanted:
            return dict(base, channel_base=2**log2)
    raise ConversionError(
        f"{source}: no StyleGAN3 config with NVIDIA's default geometry gives the layers {wanted[:4]} ...; "
        "the pickle has no init_kwargs to say how it was built"
    )


def _check_stored_geometry(
    G_ema: PersistentModule, input_spec: InputSpec, specs: list[LayerSpec], source: str
) -> None:
    """Compare what NVIDIA stored on the input and each layer with what the config implies."""
    synthesis = G_ema.submodule("synthesis")
    if synthesis is None:
        raise ConversionError(f"{source}: G_ema has no synthesis network")
    checks: list[tuple[str, object, object]] = []
    stored_input = synthesis.submodule("input")
    if stored_input is not None:
        for attr, ours in (
            ("size", [input_spec.size] * 2),
            ("sampling_rate", input_spec.sampling_rate),
            ("bandwidth", input_spec.bandwidth),
        ):
            checks.append((f"input.{attr}", stored_input.state.get(attr), ours))
    for spec in specs:
        layer = synthesis.submodule(spec.name)
        if layer is None:
            raise ConversionError(
                f"{source}: G_ema has no synthesis layer {spec.name} (the config implies it)"
            )
        for attr, ours in (
            ("in_size", [spec.in_size] * 2),
            ("out_size", [spec.out_size] * 2),
            ("in_sampling_rate", spec.in_sampling_rate),
            ("out_sampling_rate", spec.out_sampling_rate),
            ("in_cutoff", spec.in_cutoff),
            ("out_cutoff", spec.out_cutoff),
            ("conv_kernel", spec.conv_kernel),
            ("up_factor", spec.up_factor),
            ("down_factor", spec.down_factor),
            ("padding", list(spec.padding)),
            ("is_torgb", spec.is_torgb),
        ):
            checks.append((f"{spec.name}.{attr}", layer.state.get(attr), ours))
    for where, stored, ours in checks:
        if stored is not None and not _same(stored, ours):
            raise ConversionError(
                f"{source}: the pickle's {where} is {_show(stored)} but its config implies {_show(ours)}; "
                "this generator was built in a way the converter does not know"
            )


def _same(stored, ours) -> bool:
    stored = np.asarray(stored, dtype=np.float64).reshape(-1).tolist()
    ours = np.asarray(ours, dtype=np.float64).reshape(-1).tolist()
    return len(stored) == len(ours) and all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(stored, ours)
    )


def _show(value) -> str:
    return str(np.asarray(value).tolist())
