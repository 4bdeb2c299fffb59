"""Our generator checkpoint format: one .safetensors file, state dict + config JSON in metadata.

Loading never runs code (SPEC §3); every failure is a CheckpointError naming the file and the fix.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from .families import AnyConfig, AnyGenerator, build_generator, config_from_dict
from .stylegan3 import StyleGAN3Config

CONFIG_KEY = "nodegraph.generator_config"
FORMAT_KEY = "format"
FORMAT_NAME = "nodegraph.stylegan2"
FORMAT_NAME_STYLEGAN3 = "nodegraph.stylegan3"


class CheckpointError(Exception):
    """A generator checkpoint is missing, unreadable or does not fit its config."""


def save_generator(G: AnyGenerator, path: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
    """Write G's state dict and config atomically; dtype=torch.float16 halves the file."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {}
    for name, tensor in G.state_dict().items():
        t = tensor.detach().cpu()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous()
    fmt = FORMAT_NAME_STYLEGAN3 if isinstance(G.config, StyleGAN3Config) else FORMAT_NAME
    metadata = {FORMAT_KEY: fmt, CONFIG_KEY: json.dumps(G.config.to_dict())}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the user's usual mode
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_config(path: str | os.PathLike) -> AnyConfig:
    """The config stored in a checkpoint, without loading its weights."""
    return _open(Path(path))[1]


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> AnyGenerator:
    """Rebuild the generator of a checkpoint (StyleGAN2 or StyleGAN3), in float32, in eval mode, on `device`."""
    path = Path(path)
    handle, cfg = _open(path)
    G = build_generator(cfg)
    expected = G.state_dict()
    state = {}
    for name in handle.keys():
        if name not in expected:
            raise CheckpointError(f"{path}: unexpected tensor {name!r}: the file does not match its config ({cfg.img_resolution}px)")
        tensor = handle.get_tensor(name)
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise CheckpointError(
                f"{path}: tensor {name!r} has shape {list(tensor.shape)} but the config expects {list(expected[name].shape)}"
            )
        state[name] = tensor.float()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise CheckpointError(f"{path}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    G.load_state_dict(state)
    return G.eval().requires_grad_(False).to(device)


def _open(path: Path):
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file; convert one with `nodegraph convert IN.pkl OUT.safetensors`")
    try:
        handle = safe_open(str(path), framework="pt")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a safetensors file ({e}); convert NVIDIA pickles with `nodegraph convert`") from e
    metadata = handle.metadata() or {}
    raw = metadata.get(CONFIG_KEY)
    if raw is None:
        raise CheckpointError(f"{path}: no generator config in the safetensors metadata (key {CONFIG_KEY!r}); was it written by save_generator?")
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("config is not a JSON object")
        cfg = config_from_dict(data)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: malformed generator config in metadata key {CONFIG_KEY!r}: {e}") from e
    return handle, cfg
