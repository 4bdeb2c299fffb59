"""StyleGAN2 TensorFlow network pickles ((G, D, Gs) of dnnlib.tflib Network states) to our
generator, read through the restricted unpickler (SPEC §3c); no TensorFlow, no code run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from .convert import ConversionError, RestrictedUnpickler, generator_from_state
from .model import GeneratorConfig

TF_NETWORK = ("dnnlib.tflib.network", "Network")
_STATE_KEYS = {
    "version",
    "name",
    "static_kwargs",
    "components",
    "build_module_src",
    "build_func_name",
    "variables",
}


class TFNetworkState:
    """The inert stand-in for a pickled dnnlib.tflib Network: it stores its state dict and
    nothing else; build_module_src stays text and is never run."""

    def __setstate__(self, state) -> None:
        if not isinstance(state, dict) or not set(state) <= _STATE_KEYS:
            extra = sorted(map(str, set(state) - _STATE_KEYS)) if isinstance(state, dict) else state
            raise ConversionError(
                f"a TensorFlow Network state with unexpected fields {str(extra)[:80]}"
            )
        self.state = state


class _TFUnpickler(RestrictedUnpickler):
    """The restricted unpickler with the TF Network class allowed as TFNetworkState."""

    def __init__(self, file, source: str = "pickle"):
        super().__init__(file, source=source)
        self.allowed = dict(self.allowed)
        self.allowed[TF_NETWORK] = TFNetworkState


def is_tf_pickle(path: str | os.PathLike) -> bool:
    """Whether the pickle names dnnlib.tflib.network.Network (scanned, not loaded)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b"dnnlib.tflib.network" in head


def _collect(state: dict, prefix: str, out: dict[str, np.ndarray], source: str) -> None:
    if state.get("version") != 4:
        raise ConversionError(
            f"{source}: TensorFlow Network state version {state.get('version')!r}; only version 4 "
            "(NVIDIA's StyleGAN2 releases) converts"
        )
    for name, value in state.get("variables", []):
        out[prefix + str(name)] = np.asarray(value)
    for cname, comp in (state.get("components") or {}).items():
        if not isinstance(comp, TFNetworkState):
            raise ConversionError(f"{source}: component {cname!r} is not a Network state")
        _collect(comp.state, f"{prefix}{cname}/", out, source)


def _config(kw: dict, source: str) -> GeneratorConfig:
    arch = kw.get("architecture", "skip")
    if arch != "skip":
        raise ConversionError(
            f"{source}: TensorFlow architecture={arch!r}; only 'skip' (config-e/f) converts"
        )
    if list(kw.get("resample_kernel", [1, 3, 3, 1])) != [1, 3, 3, 1]:
        raise ConversionError(f"{source}: unsupported resample_kernel {kw['resample_kernel']!r}")
    if int(kw.get("label_size", 0)):
        raise ConversionError(
            f"{source}: a conditional TensorFlow generator (label_size={kw['label_size']}); "
            "only unconditional ones (every published StyleGAN2 TF file) convert"
        )
    for key in ("nonlinearity", "mapping_nonlinearity"):
        if kw.get(key, "lrelu") != "lrelu":
            raise ConversionError(f"{source}: unsupported {key}={kw[key]!r}")
    try:
        return GeneratorConfig(
            z_dim=int(kw.get("latent_size", 512)),
            c_dim=int(kw.get("label_size", 0)),
            w_dim=int(kw.get("dlatent_size", 512)),
            img_resolution=int(kw.get("resolution", 1024)),
            img_channels=int(kw.get("num_channels", 3)),
            mapping_layers=int(kw.get("mapping_layers", 8)),
            mapping_lr_multiplier=float(kw.get("mapping_lrmul", 0.01)),
            channel_base=2 * int(kw.get("fmap_base", 16384)),
            channel_max=int(kw.get("fmap_max", 512)),
            conv_clamp=None,
            num_fp16_res=0,
            source=f"converted from {Path(source).name} (StyleGAN2 TensorFlow pickle, Gs)",
        )
    except (TypeError, ValueError) as e:
        raise ConversionError(f"{source}: unusable static_kwargs: {e}") from None


def _conv(w: np.ndarray, flip: bool = False) -> np.ndarray:
    if flip:
        w = w[::-1, ::-1]
    return w.transpose(3, 2, 0, 1)


def _map(tf: dict[str, np.ndarray], cfg: GeneratorConfig, source: str) -> dict[str, torch.Tensor]:
    """NVIDIA-PyTorch-named tensors from the TF variables; every variable used exactly once."""
    used: set[str] = set()
    out: dict[str, np.ndarray] = {}

    def take(name: str) -> np.ndarray:
        if name not in tf:
            raise ConversionError(f"{source}: TensorFlow variable {name!r} missing from Gs")
        used.add(name)
        return tf[name]

    out["mapping.w_avg"] = take("dlatent_avg")
    for i in range(cfg.mapping_layers):
        out[f"mapping.fc{i}.weight"] = take(f"mapping/Dense{i}/weight").T
        out[f"mapping.fc{i}.bias"] = take(f"mapping/Dense{i}/bias")

    def layer(tfname: str, ours: str, flip: bool = False, noise: int | None = None) -> None:
        out[f"{ours}.weight"] = _conv(take(f"{tfname}/weight"), flip)
        out[f"{ours}.bias"] = take(f"{tfname}/bias")
        out[f"{ours}.affine.weight"] = take(f"{tfname}/mod_weight").T
        out[f"{ours}.affine.bias"] = take(f"{tfname}/mod_bias") + 1
        if noise is not None:
            out[f"{ours}.noise_strength"] = np.asarray(take(f"{tfname}/noise_strength")).reshape(())
            out[f"{ours}.noise_const"] = take(f"synthesis/noise{noise}")[0, 0]

    res_log2 = int(np.log2(cfg.img_resolution))
    out["synthesis.b4.const"] = take("synthesis/4x4/Const/const")[0]
    layer("synthesis/4x4/Conv", "synthesis.b4.conv1", noise=0)
    layer("synthesis/4x4/ToRGB", "synthesis.b4.torgb")
    for lg in range(3, res_log2 + 1):
        r = 2**lg
        layer(f"synthesis/{r}x{r}/Conv0_up", f"synthesis.b{r}.conv0", flip=True, noise=2 * lg - 5)
        layer(f"synthesis/{r}x{r}/Conv1", f"synthesis.b{r}.conv1", noise=2 * lg - 4)
        layer(f"synthesis/{r}x{r}/ToRGB", f"synthesis.b{r}.torgb")
    kernel = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32)
    kernel /= kernel.sum()  # the fixed FIR buffers NVIDIA's PyTorch generator keeps
    for name in [k for k in out if k.endswith(("conv0.weight", "conv1.weight"))]:
        out[name.replace(".weight", ".resample_filter")] = kernel
    for lg in range(2, res_log2 + 1):
        out[f"synthesis.b{2**lg}.resample_filter"] = kernel
    extra = sorted(k for k in tf if k not in used and k != "lod")
    if extra:
        raise ConversionError(
            f"{source}: unexpected TensorFlow variables in Gs: {', '.join(extra[:5])}"
        )
    return {k: torch.from_numpy(np.array(v, dtype=np.float32, order="C")) for k, v in out.items()}


def generator_from_tf_pickle(path: str | os.PathLike):
    """Our generator from Gs of a StyleGAN2 TensorFlow pickle (D and G ignored)."""
    path = Path(path)
    source = str(path)
    with open(path, "rb") as f:
        try:
            data = _TFUnpickler(f, source=source).load()
        except ConversionError:
            raise
        except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as e:
            raise ConversionError(
                f"{source}: not a readable TensorFlow network pickle ({e})"
            ) from e
    if not (isinstance(data, tuple) and len(data) == 3 and isinstance(data[2], TFNetworkState)):
        raise ConversionError(f"{source}: expected a (G, D, Gs) tuple of TensorFlow Network states")
    gs = data[2].state
    tf: dict[str, np.ndarray] = {}
    _collect(gs, "", tf, source)
    cfg = _config(dict(gs.get("static_kwargs") or {}), source)
    return generator_from_state(cfg, _map(tf, cfg, source), source)
