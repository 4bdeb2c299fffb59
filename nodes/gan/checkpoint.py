"""Our generator checkpoint format: one .safetensors file, state dict + config JSON in metadata.

Loading never runs code (SPEC §3); every failure is a CheckpointError naming the file and the fix.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from nodegraph.errors import CappedMessage

from .families import AnyConfig, AnyGenerator, build_generator, config_from_dict, family_name
from .stylegan3 import StyleGAN3Config

CONFIG_KEY = "nodegraph.generator_config"
MAX_CONFIG_CHARS = 64 * 1024  # the config JSON in the metadata (real ones are under 2 KB)
FORMAT_KEY = "format"
FORMAT_NAME = "nodegraph.stylegan2"
FORMAT_NAME_STYLEGAN3 = "nodegraph.stylegan3"


class CheckpointError(CappedMessage, Exception):
    """A generator checkpoint is missing, unreadable or does not fit its config."""


def save_generator(G: AnyGenerator, path: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
    """Write G's state dict and config atomically; dtype=torch.float16 halves the file."""
    from safetensors.torch import save

    from nodegraph.atomic import atomic_write

    path = Path(path)
    tensors = {}
    for name, tensor in G.state_dict().items():
        t = tensor.detach().cpu()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous()
    fmt = FORMAT_NAME_STYLEGAN3 if isinstance(G.config, StyleGAN3Config) else FORMAT_NAME
    metadata = {FORMAT_KEY: fmt, CONFIG_KEY: json.dumps(G.config.to_dict())}
    atomic_write(path, save(tensors, metadata=metadata))
    return path


def read_config(path: str | os.PathLike) -> AnyConfig:
    """The config stored in a checkpoint, without loading its weights."""
    return _open(Path(path))[1]


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> AnyGenerator:
    """Rebuild the generator of a checkpoint (StyleGAN2 or StyleGAN3), in float32, in eval mode, on `device`.

    Nothing is allocated before the config is validated and the tensors the file holds (names,
    shapes, parameter count, read from its header) match what the config implies."""
    path = Path(path)
    handle, cfg = _open(path)
    check_tensors_fit(cfg, {name: handle.get_slice(name).get_shape() for name in handle.keys()}, str(path))
    G = build_generator(cfg)
    G.load_state_dict({name: handle.get_tensor(name).float() for name in handle.keys()})
    return G.eval().requires_grad_(False).to(device)


def implied_shapes(cfg: AnyConfig) -> dict[str, tuple[int, ...]]:
    """The state dict's names and shapes that cfg implies, built on the meta device (no memory)."""
    with torch.device("meta"), _ShapesOnly():
        G = build_generator(cfg)
    return {name: tuple(t.shape) for name, t in G.state_dict().items()}


class _ShapesOnly(TorchFunctionMode):
    """Makes the meta-device build cheap: the first meta randn, outer, eye or division of a
    process imports torch's Python decompositions (1-3 s of CPU here), yet only shapes are read.
    Those ops return empty tensors of their result's shape (elementwise: the broadcast shape)."""

    ELEMENTWISE = {"add", "sub", "mul", "div", "pow", "square", "sqrt", "rsqrt", "exp", "sin",
                   "cos", "abs", "neg", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
                   "__rmul__", "__truediv__", "__rtruediv__", "__pow__", "__neg__"}  # fmt: skip

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if func is torch.randn:
            kwargs.pop("generator", None)
            return torch.empty(*args, **kwargs)
        if func is torch.outer:
            return torch.empty(len(args[0]), len(args[1]), dtype=args[0].dtype)
        if func is torch.eye:
            return torch.empty(args[0], args[1] if len(args) > 1 else args[0], dtype=kwargs.get("dtype"))
        tensors = [a for a in args[:2] if isinstance(a, torch.Tensor)]
        if name in self.ELEMENTWISE and tensors and all(t.is_meta for t in tensors):
            # numpy's broadcast: torch.broadcast_shapes imports torch.fx's symbolic shapes (1 s)
            shape = np.broadcast_shapes(*(tuple(a.shape) if isinstance(a, torch.Tensor) else () for a in args[:2]))
            return torch.empty(shape, dtype=tensors[0].dtype)
        return func(*args, **kwargs)


def check_tensors_fit(cfg: AnyConfig, shapes: dict[str, Any], source: str) -> None:
    """CheckpointError unless the tensors (name -> shape) are exactly those cfg implies; the
    message compares the parameter counts when the names differ, else names the tensor."""
    expected = implied_shapes(cfg)
    unexpected = sorted(set(shapes) - set(expected))
    missing = sorted(set(expected) - set(shapes))
    if unexpected or missing:
        implied, held = (sum(math.prod(s) for s in d.values()) for d in (expected, shapes))
        names = [f"unexpected tensors {_few(unexpected)}"] if unexpected else []
        names += [f"missing tensors {_few(missing)}"] if missing else []
        raise CheckpointError(
            f"{source}: the config (a {cfg.img_resolution}px {family_name(cfg)}) implies "
            f"{implied:,} parameters in {len(expected)} tensors but the file holds {held:,} in "
            f"{len(shapes)}; " + ", ".join(names) + ": the config does not describe these tensors"
        )
    for name, shape in shapes.items():
        if tuple(shape) != expected[name]:
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {list(shape)} but the config expects {list(expected[name])}"
            )


def _few(names: list[str]) -> str:
    return str(names[:5])[:-1] + (", ...]" if len(names) > 5 else "]")


def _open(path: Path):
    from safetensors import SafetensorError, safe_open

    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file; convert one with `nodegraph convert IN.pkl OUT.safetensors`")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file (a folder, FIFO or device); give a .safetensors checkpoint")
    try:
        handle = safe_open(str(path), framework="pt")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a safetensors file ({e}); convert NVIDIA pickles with `nodegraph convert`") from e
    metadata = handle.metadata() or {}
    raw = metadata.get(CONFIG_KEY)
    if raw is None:
        raise CheckpointError(f"{path}: no generator config in the safetensors metadata (key {CONFIG_KEY!r}); was it written by save_generator?")
    try:
        if len(raw) > MAX_CONFIG_CHARS:
            raise ValueError(f"it is {len(raw):,} characters; the limit is {MAX_CONFIG_CHARS:,}")
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("config is not a JSON object")
        cfg = config_from_dict(data)
    except RecursionError:
        raise CheckpointError(f"{path}: malformed generator config in metadata key {CONFIG_KEY!r}: nested too deep") from None
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: malformed generator config in metadata key {CONFIG_KEY!r}: {e}") from None
    return handle, cfg
