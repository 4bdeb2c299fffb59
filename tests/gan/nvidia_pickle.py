"""Build network pickles in NVIDIA's persistent-class format from our generators, for tests.

Each module pickles as `torch_utils.persistence._reconstruct_persistent_obj(meta)` with meta =
{type, version, module_src, class_name, state}, as torch_utils/persistence.py writes them.
"""

from __future__ import annotations

import collections
import pickle
import sys
import types

import torch

from nodes.gan import Generator

# Would leave a trace if anyone exec-ed the module source stored in the pickle.
MODULE_SRC_TEMPLATE = (
    "import pathlib\npathlib.Path({marker!r}).write_text('module_src was executed')\n"
)


def _reconstruct_persistent_obj(meta):  # a stand-in; only its name goes into the pickle
    raise AssertionError("never called while dumping")


_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"


class PersistentRecord:
    """Pickles exactly like one of NVIDIA's persistent modules."""

    def __init__(self, class_name: str, state: dict, module_src: str):
        self.meta = dict(
            type="class", version=6, module_src=module_src, class_name=class_name, state=state
        )

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


def _record(
    module: torch.nn.Module, module_src: str, init_kwargs: dict, attributes=None
) -> PersistentRecord:
    children = collections.OrderedDict(
        (name, _record(child, module_src, {}, attributes))
        for name, child in module.named_children()
    )
    state = dict(
        training=False,
        _parameters=collections.OrderedDict(module._parameters),
        _buffers=collections.OrderedDict(module._buffers),
        _non_persistent_buffers_set=set(),
        _modules=children,
        _init_args=(),
        _init_kwargs=dict(init_kwargs),
        weight_gain=0.25,  # plain attributes come along in NVIDIA's state too
    )
    if attributes is not None:
        state.update(attributes(module))
    return PersistentRecord(type(module).__name__, state, module_src)


def nvidia_init_kwargs(G: Generator, layout: str = "stylegan2-ada") -> dict:
    """G_ema's init_kwargs as either repo stores them ("stylegan2-ada" nests synthesis_kwargs)."""
    cfg = G.config
    synthesis = dict(
        channel_base=cfg.channel_base,
        channel_max=cfg.channel_max,
        conv_clamp=cfg.conv_clamp,
        num_fp16_res=cfg.num_fp16_res,
    )
    kwargs = dict(
        z_dim=cfg.z_dim,
        c_dim=cfg.c_dim,
        w_dim=cfg.w_dim,
        img_resolution=cfg.img_resolution,
        img_channels=cfg.img_channels,
        mapping_kwargs=dict(num_layers=cfg.mapping_layers),
    )
    if layout == "stylegan2-ada":
        return dict(kwargs, synthesis_kwargs=synthesis)
    return dict(kwargs, **synthesis)


def network_pickle_bytes(
    G: Generator,
    marker: str,
    init_kwargs: dict | None = None,
    extra: dict | None = None,
    protocol: int = 4,
    attributes=None,
) -> bytes:
    """A pickle shaped like NVIDIA's network snapshots: {G, D, G_ema, augment_pipe, training_set_kwargs}.

    `attributes(module)` -> dict adds plain attributes to a module's pickled state, as NVIDIA's
    layers carry their hyper-parameters."""
    module_src = MODULE_SRC_TEMPLATE.format(marker=marker)
    kwargs = nvidia_init_kwargs(G) if init_kwargs is None else init_kwargs
    record = _record(G, module_src, kwargs, attributes)
    data = dict(
        G=record,
        D=None,
        G_ema=record,
        augment_pipe=None,
        training_set_kwargs=dict(resolution=G.img_resolution),
    )
    data.update(extra or {})
    persistence = types.ModuleType("torch_utils.persistence")
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    package = types.ModuleType("torch_utils")
    package.persistence = persistence
    saved = {name: sys.modules.get(name) for name in ("torch_utils", "torch_utils.persistence")}
    sys.modules.update({"torch_utils": package, "torch_utils.persistence": persistence})
    try:
        return pickle.dumps(data, protocol=protocol)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
