"""Convert foreign StyleGAN2 and StyleGAN3 checkpoints to our safetensors format (SPEC §3, §3b).

NVIDIA network pickles are read by a restricted unpickler that imports and runs nothing from
the file; rosinality `.pt` files are read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import _compat_pickle
import collections
import io
import os
import pickle
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, check_tensors_fit, implied_shapes, save_generator
from .families import AnyConfig, AnyGenerator, build_generator
from .load_budget import LoadBudget, check_torch_zip, numpy_globals
from .model import Generator, GeneratorConfig
from .ops import setup_filter


class ConversionError(CheckpointError):
    """A foreign checkpoint cannot be converted: unsafe, unreadable or not a StyleGAN2/3 generator."""


# Real network pickles nest about 20 levels and hold a few thousand containers.
MAX_PICKLE_DEPTH = 100
MAX_PICKLE_CONTAINERS = 1_000_000


# --- Restricted unpickling of NVIDIA network pickles -------------------------------------------


@dataclass
class PersistentModule:
    """What we keep of one of NVIDIA's persistent modules: its class name and pickled __dict__.

    Stands in for the class the pickle would rebuild by exec-ing its `module_src`, which we never do."""

    class_name: str
    state: dict = field(default_factory=dict)

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs") or {})

    def submodule(self, name: str) -> PersistentModule | None:
        module = (self.state.get("_modules") or {}).get(name)
        return module if isinstance(module, PersistentModule) else None

    def named_tensors(
        self, prefix: str = "", seen: dict[int, str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Parameters and persistent buffers by dotted name, as nn.Module.state_dict() lists them.
        Modules form a tree: one record reached twice (a hostile DAG would name 2^depth
        tensors) is refused, so each record is visited once."""
        seen = {} if seen is None else seen
        if id(self) in seen:
            raise ConversionError(
                f"module {prefix.rstrip('.')!r} is the same persistent record as "
                f"{seen[id(self)]!r}: a generator's modules form a tree, this pickle is malformed"
            )
        seen[id(self)] = prefix.rstrip(".") or "G_ema"
        tensors = {}
        skipped = set(self.state.get("_non_persistent_buffers_set") or ())
        for group in ("_parameters", "_buffers"):
            for name, value in (self.state.get(group) or {}).items():
                if isinstance(value, torch.Tensor) and name not in skipped:
                    tensors[prefix + str(name)] = value
        for name, child in (self.state.get("_modules") or {}).items():
            if child is None:
                continue
            if not isinstance(child, PersistentModule):
                raise ConversionError(
                    f"sub-module {prefix + str(name)!r} is a {type(child).__name__}, not a persistent module"
                )
            tensors.update(child.named_tensors(f"{prefix}{name}.", seen))
        return tensors


class _EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict (a plain dict subclass) inside pickled kwargs."""

    def __setstate__(self, state) -> None:
        if isinstance(state, dict):
            self.update(state)


def _reconstruct_persistent_obj(meta) -> PersistentModule:
    """Replaces torch_utils.persistence._reconstruct_persistent_obj: keeps the data, drops module_src."""
    if (
        not isinstance(meta, dict)
        or meta.get("type") != "class"
        or not isinstance(meta.get("state"), dict)
    ):
        raise ConversionError(
            "malformed persistent object: expected a dict with type 'class' and a state dict"
        )
    return PersistentModule(class_name=str(meta.get("class_name")), state=dict(meta["state"]))


def _storage_loader(budget: LoadBudget):
    def load_storage_from_bytes(data: bytes):
        """torch.storage._load_from_bytes, but through torch's weights-only unpickler, and a
        torch zip in the bytes checked against the file's budget before torch inflates it."""
        if not isinstance(data, (bytes, bytearray)):
            raise ConversionError("malformed tensor storage in the pickle")
        if data[:4] == b"PK\x03\x04":  # how torch.load tells its zip format
            check_torch_zip(io.BytesIO(data), budget)
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)

    return load_storage_from_bytes


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None) -> torch.Tensor:
    """Parameters come back as plain tensors; we only want their values."""
    if not isinstance(data, torch.Tensor):
        raise ConversionError("malformed parameter in the pickle")
    return data


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """_codecs.encode as protocol-2 pickles use it to store bytes; no other codec."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise ConversionError(f"unexpected _codecs.encode(..., {encoding!r}) in the pickle")
    return text.encode("latin1")


def allowed_globals(budget: LoadBudget | None = None) -> dict[tuple[str, str], object]:
    """Every global an NVIDIA network pickle may name, and what we hand back for it (SPEC §3);
    numpy arrays and torch zips are charged to `budget` (one per file) before they allocate."""
    budget = budget or LoadBudget("pickle", 0)
    allowed: dict[tuple[str, str], object] = {
        ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch.storage", "_load_from_bytes"): _storage_loader(budget),
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("_codecs", "encode"): _latin1_bytes,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
        ("dnnlib.util", "EasyDict"): _EasyDict,
        ("dnnlib", "EasyDict"): _EasyDict,
    }
    allowed.update(numpy_globals(budget))
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the globals of allowed_globals(); anything else is refused
    before it is imported, so nothing from the file runs."""

    def __init__(self, file, source: str = "pickle", budget: LoadBudget | None = None):
        super().__init__(file)
        self.source = source
        self.budget = budget or LoadBudget(source, _size_of(file))
        self.allowed = allowed_globals(self.budget)

    def find_class(self, module: str, name: str):
        # Protocol-2 pickles name builtins the Python 2 way (__builtin__.set); map them as the
        # default find_class does. The allowlist below is what decides.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise ConversionError(
                f"{self.source}: refusing global {module}.{name}: only tensors, containers and NVIDIA's "
                "persistent-module records are allowed in a network pickle; nothing was executed"
            ) from None

    def persistent_load(self, pid):
        raise ConversionError(
            f"{self.source}: unexpected persistent id {str(pid)[:80]!r} (is this a torch.save file? use a .pt name)"
        )


def _size_of(file) -> int:
    """The bytes of an open file (what a LoadBudget allows beyond), 0 when it cannot tell."""
    try:
        return os.fstat(file.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return len(file.getbuffer()) if isinstance(file, io.BytesIO) else 0


def load_network_pickle(path: str | os.PathLike) -> dict:
    """The top-level dict of an NVIDIA network pickle, with modules as PersistentModule records."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: no such file")
    with open(path, "rb") as f:
        try:
            data = RestrictedUnpickler(f, source=str(path)).load()
        except CheckpointError:
            raise
        except Exception as e:  # a damaged or foreign file fails in many ways inside pickle
            raise ConversionError(
                f"{path}: not a readable network pickle ({type(e).__name__}: {e})"
            ) from e
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConversionError(
            f"{path}: expected a dict with keys G, D, G_ema, got {type(data).__name__}"
        )
    check_structure(data, str(path))
    return data


def check_structure(root: object, source: str, max_depth: int = MAX_PICKLE_DEPTH) -> None:
    """ConversionError when the unpickled objects nest deeper than max_depth, hold more than
    MAX_PICKLE_CONTAINERS containers, or contain themselves. Walks without recursion and visits
    each shared container once (a pickle's memo lets a few bytes describe a huge DAG)."""
    done: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[object, int, bool]] = [(root, 0, False)]
    while stack:
        item, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(item))
            done.add(id(item))
            continue
        children = _children(item)
        if children is None or id(item) in done:
            continue
        if id(item) in on_path:
            raise ConversionError(
                f"{source}: an object in the pickle contains itself; this is not a network pickle"
            )
        if depth > max_depth:
            raise ConversionError(
                f"{source}: objects nested deeper than {max_depth} levels; this is not a network pickle"
            )
        if len(done) + len(on_path) >= MAX_PICKLE_CONTAINERS:
            raise ConversionError(
                f"{source}: more than {MAX_PICKLE_CONTAINERS:,} containers; this is not a network pickle"
            )
        on_path.add(id(item))
        stack.append((item, depth, True))
        stack.extend((child, depth + 1, False) for child in children)


def _children(item: object) -> list | None:
    """The objects a container holds (keys too); None for a leaf (tensor, array, number, text)."""
    if isinstance(item, PersistentModule):
        return [item.state]
    if isinstance(item, dict):
        return [*item.keys(), *item.values()]
    if isinstance(item, list | tuple | set | frozenset):
        return list(item)
    return None


# --- NVIDIA: config and weights of G_ema --------------------------------------------------------

_SYNTHESIS_KEYS = (
    "channel_base",
    "channel_max",
    "conv_clamp",
    "architecture",
    "num_fp16_res",
    "resample_filter",
)


def _infer_from_shapes(tensors: dict[str, torch.Tensor]) -> dict:
    """What the state dict's shapes say about the config, for pickles without init_kwargs."""
    try:
        resolutions = sorted(
            int(k.split(".")[1][1:])
            for k in tensors
            if k.startswith("synthesis.b") and k.endswith(".conv1.weight")
        )
        channels = {res: tensors[f"synthesis.b{res}.conv1.weight"].shape[0] for res in resolutions}
        c_dim = tensors["mapping.embed.weight"].shape[1] if "mapping.embed.weight" in tensors else 0
        embed = tensors["mapping.embed.weight"].shape[0] if c_dim else 0
        width_divisor = _width_divisor(tensors["synthesis.b4.const"].shape)
        channel_max = max(channels.values())
        below_max = [res for res in resolutions if channels[res] < channel_max]
        top = resolutions[-1]
        return dict(
            z_dim=tensors["mapping.fc0.weight"].shape[1] - embed,
            w_dim=tensors["mapping.w_avg"].shape[0],
            c_dim=c_dim,
            img_resolution=top,
            img_channels=tensors[f"synthesis.b{top}.torgb.weight"].shape[0],
            mapping_layers=sum(
                1 for k in tensors if k.startswith("mapping.fc") and k.endswith(".weight")
            ),
            channel_max=channel_max,
            channel_base=channels[below_max[0]] * below_max[0] if below_max else channel_max * top,
            width_divisor=width_divisor,
        )
    except (KeyError, IndexError, ValueError) as e:
        raise ConversionError(
            f"the generator's tensors do not look like a StyleGAN2 generator (missing {e})"
        ) from e


def _width_divisor(const_shape) -> int:
    """1 for a square generator (b4.const [C, 4, 4]), 2 for StyleGAN-Human's H x H/2 ([C, 4, 2]):
    their pickles say it only by their shapes (SPEC §3c)."""
    shape = tuple(const_shape)
    if len(shape) != 3 or shape[1] != 4 or shape[2] not in (4, 2):
        raise ConversionError(
            f"tensor 'synthesis.b4.const' has shape {list(shape)}; a StyleGAN2 generator's is "
            "[C, 4, 4], a rectangular StyleGAN-Human one's [C, 4, 2]"
        )
    return 4 // shape[2]


def _config_from_generator(
    G_ema: PersistentModule, tensors: dict[str, torch.Tensor], source: str
) -> GeneratorConfig:
    """Config from G_ema's init_kwargs (both repos' layouts), shapes filling what they lack."""
    kwargs = G_ema.init_kwargs
    mapping = dict(kwargs.get("mapping_kwargs") or {})
    synthesis = dict(kwargs.get("synthesis_kwargs") or {})  # stylegan2-ada-pytorch nests them ...
    synthesis.update(
        {k: kwargs[k] for k in _SYNTHESIS_KEYS if k in kwargs}
    )  # ... stylegan3 does not
    for key, value in (("architecture", "skip"), ("resample_filter", [1, 3, 3, 1])):
        if list(np.atleast_1d(synthesis.get(key, value))) != list(np.atleast_1d(value)):
            raise ConversionError(
                f"{source}: unsupported {key}={synthesis[key]!r}; only {value!r} generators convert"
            )
    for key in ("embed_features", "layer_features"):
        if mapping.get(key) not in (None, kwargs.get("w_dim")):
            raise ConversionError(
                f"{source}: unsupported mapping {key}={mapping[key]}; only w_dim-wide mapping layers convert"
            )
    if mapping.get("activation", "lrelu") != "lrelu":
        raise ConversionError(f"{source}: unsupported mapping activation {mapping['activation']!r}")
    cfg = _infer_from_shapes(tensors)
    if kwargs:
        cfg.update(
            {
                k: kwargs[k]
                for k in ("z_dim", "w_dim", "c_dim", "img_resolution", "img_channels")
                if k in kwargs
            }
        )
        cfg.update({k: synthesis[k] for k in ("channel_base", "channel_max") if k in synthesis})
        cfg["conv_clamp"] = synthesis.get("conv_clamp")  # NVIDIA's default is no clamp
        note = "config from G_ema init_kwargs"
    else:
        cfg["conv_clamp"] = 256  # cannot be read off the weights; every official config uses 256
        note = "config inferred from tensor shapes (conv_clamp assumed 256)"
    cfg["mapping_layers"] = mapping.get("num_layers", cfg["mapping_layers"])
    cfg["mapping_lr_multiplier"] = mapping.get("lr_multiplier", 0.01)
    cfg["num_fp16_res"] = synthesis.get("num_fp16_res", 4)
    if cfg["width_divisor"] != 1:
        note += "; rectangular H x H/2 maps (StyleGAN-Human), padded to H x H"
    cfg["source"] = f"converted from {Path(source).name} (NVIDIA network pickle, G_ema; {note})"
    if cfg["conv_clamp"] is not None:
        cfg["conv_clamp"] = float(cfg["conv_clamp"])
    cfg = {
        k: int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
        for k, v in cfg.items()
    }
    try:
        return GeneratorConfig(**cfg)
    except (TypeError, ValueError) as e:
        raise ConversionError(f"{source}: unusable generator config: {e}") from None


def generator_from_state(
    cfg: AnyConfig, tensors: dict[str, torch.Tensor], source: str
) -> AnyGenerator:
    """Our generator for cfg with the given NVIDIA-named tensors, every name and shape checked
    before the generator is allocated."""
    try:
        check_tensors_fit(cfg, {name: tuple(t.shape) for name, t in tensors.items()}, source)
    except CheckpointError as e:
        raise ConversionError(str(e)) from None
    G = build_generator(cfg)
    G.load_state_dict({name: t.detach().float() for name, t in tensors.items()})
    return G.eval().requires_grad_(False)


def generator_from_network_pickle(path: str | os.PathLike) -> AnyGenerator:
    """G_ema of an NVIDIA network pickle (stylegan2-ada-pytorch or stylegan3 repo; StyleGAN2,
    StyleGAN3-T or StyleGAN3-R networks)."""
    from .convert_stylegan3 import is_stylegan3, stylegan3_config  # it imports this module

    data = load_network_pickle(path)
    G_ema = data.get("G_ema")
    if not isinstance(G_ema, PersistentModule):
        raise ConversionError(
            f"{path}: no G_ema network in the pickle (keys: {sorted(map(str, data))})"
        )
    tensors = G_ema.named_tensors()
    if is_stylegan3(tensors):
        cfg = stylegan3_config(G_ema, tensors, str(path))
    else:
        cfg = _config_from_generator(G_ema, tensors, str(path))
    return generator_from_state(cfg, tensors, str(path))


# --- rosinality/stylegan2-pytorch ----------------------------------------------------------------


def rosinality_to_nvidia(g_ema: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and reshape) a rosinality `g_ema` state dict to NVIDIA's names.

    Their layers: style.{1..n} (mapping), input.input, conv1/to_rgb1 (4x4), convs.{2k-2, 2k-1} and
    to_rgbs.{k-1} for block k >= 1, noises.noise_{i} in conv order. Blur kernels are dropped:
    ours are the same [1, 3, 3, 1] filter."""
    out: dict[str, torch.Tensor] = {}
    n_mlp = sum(1 for k in g_ema if k.startswith("style.") and k.endswith(".weight"))
    for i in range(n_mlp):
        out[f"mapping.fc{i}.weight"] = g_ema[f"style.{i + 1}.weight"]
        out[f"mapping.fc{i}.bias"] = g_ema[f"style.{i + 1}.bias"]
    out["synthesis.b4.const"] = g_ema["input.input"][0]
    num_blocks = 1 + sum(1 for k in g_ema if re.fullmatch(r"to_rgbs\.\d+\.bias", k))
    layers = [("synthesis.b4.conv1", "conv1")]
    rgbs = [("synthesis.b4.torgb", "to_rgb1")]
    for k in range(1, num_blocks):
        res = 4 * 2**k
        layers += [
            (f"synthesis.b{res}.conv0", f"convs.{2 * k - 2}"),
            (f"synthesis.b{res}.conv1", f"convs.{2 * k - 1}"),
        ]
        rgbs.append((f"synthesis.b{res}.torgb", f"to_rgbs.{k - 1}"))
    for noise_index, (ours, theirs) in enumerate(layers):
        out[f"{ours}.weight"] = g_ema[f"{theirs}.conv.weight"][0]  # [1, O, I, k, k] -> [O, I, k, k]
        out[f"{ours}.affine.weight"] = g_ema[f"{theirs}.conv.modulation.weight"]
        out[f"{ours}.affine.bias"] = g_ema[f"{theirs}.conv.modulation.bias"]
        out[f"{ours}.noise_strength"] = g_ema[f"{theirs}.noise.weight"].reshape([])
        out[f"{ours}.bias"] = g_ema[f"{theirs}.activate.bias"]
        out[f"{ours}.noise_const"] = g_ema[f"noises.noise_{noise_index}"][0, 0]
    for ours, theirs in rgbs:
        out[f"{ours}.weight"] = g_ema[f"{theirs}.conv.weight"][0]
        out[f"{ours}.affine.weight"] = g_ema[f"{theirs}.conv.modulation.weight"]
        out[f"{ours}.affine.bias"] = g_ema[f"{theirs}.conv.modulation.bias"]
        out[f"{ours}.bias"] = g_ema[f"{theirs}.bias"].reshape(-1)
    return out


def generator_from_rosinality(path: str | os.PathLike, w_avg_samples: int = 10_000) -> Generator:
    """g_ema of a rosinality checkpoint. Their generator never clamps, so conv_clamp is None; w_avg is
    the file's `latent_avg` when present, else the mean of w over w_avg_samples seeded z."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":  # torch.save's zip: sizes checked before torch reads
                check_torch_zip(f, LoadBudget(str(path), _size_of(f)))
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as e:
        raise ConversionError(
            f"{path}: not a weights-only torch checkpoint ({type(e).__name__}: {str(e)[:200]})"
        ) from e
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("g_ema"), dict):
        raise ConversionError(
            f"{path}: expected a dict with a 'g_ema' state dict (rosinality format)"
        )
    try:
        tensors = rosinality_to_nvidia(ckpt["g_ema"])
    except KeyError as e:
        raise ConversionError(
            f"{path}: g_ema lacks {e}; not a rosinality StyleGAN2 generator"
        ) from e
    latent_avg = ckpt.get("latent_avg")
    w_dim = tensors["mapping.fc0.weight"].shape[0]
    tensors["mapping.w_avg"] = (
        latent_avg.reshape(-1)[:w_dim]
        if isinstance(latent_avg, torch.Tensor)
        else torch.zeros(w_dim)
    )
    cfg = _infer_from_shapes(tensors)
    cfg.update(conv_clamp=None, source=f"converted from {path.name} (rosinality g_ema)")
    try:
        config = GeneratorConfig(**cfg)
    except (TypeError, ValueError) as e:
        raise ConversionError(f"{path}: unusable generator config: {e}") from None
    resample = setup_filter([1, 3, 3, 1])  # the same filter in both implementations
    tensors.update({k: resample for k in implied_shapes(config) if k.endswith("resample_filter")})
    G = generator_from_state(config, tensors, str(path))
    if not isinstance(latent_avg, torch.Tensor):
        with torch.no_grad():
            z = torch.randn([w_avg_samples, G.z_dim], generator=torch.Generator().manual_seed(0))
            G.mapping.w_avg.copy_(G.mapping(z)[:, 0].mean(dim=0))
    return G


# --- Entry points -----------------------------------------------------------------------------


def load_foreign_generator(path: str | os.PathLike) -> AnyGenerator:
    """A generator from an NVIDIA pickle (.pkl) or a rosinality checkpoint (.pt / .pth)."""
    path = Path(path)
    from .convert_tf import generator_from_tf_pickle, is_tf_pickle  # it imports this module

    if path.suffix.lower() in (".pt", ".pth"):
        return generator_from_rosinality(path)
    if is_tf_pickle(path):
        return generator_from_tf_pickle(path)
    return generator_from_network_pickle(path)


def convert(in_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Convert a foreign checkpoint to our .safetensors file; returns the written path."""
    G = load_foreign_generator(in_path)
    return save_generator(G, out_path)


if __name__ == "__main__":
    from .cli import convert_command

    sys.exit(convert_command(sys.argv[1:]))
