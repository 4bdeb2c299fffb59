"""Writes tiny StyleGAN2 TensorFlow-format pickles for the tests: (G, D, Gs) Network states with
numpy-1.x-style arrays, spelled with our own placeholder classes (no file from elsewhere)."""

from __future__ import annotations

import io
import pickle

import numpy as np


class Global:
    """A name the pickle refers to (module.name), written as a GLOBAL opcode."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # the pickler asks that a reduce function be callable
        raise TypeError("a placeholder")


class _Array:
    def __init__(self, value: np.ndarray):
        self.value = np.array(value, dtype=np.float32, order="C")

    def __reduce__(self):
        dtype = _Dtype()
        state = (1, self.value.shape, dtype, False, self.value.tobytes())
        return (
            Global("numpy.core.multiarray", "_reconstruct"),
            (Global("numpy", "ndarray"), (0,), b"b"),
            state,
        )


class _Dtype:
    def __reduce__(self):
        return (
            Global("numpy", "dtype"),
            ("f4", False, True),
            (3, "<", None, None, None, -1, -1, 0),
        )


class _Network:
    def __init__(self, state: dict, cls: Global = Global("dnnlib.tflib.network", "Network")):
        self.state, self.cls = state, cls

    def __reduce__(self):
        return (self.cls, (), self.state)


class _Pickler(pickle._Pickler):
    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            return
        super().save(obj, save_persistent_id)


def _net(
    name: str, variables: dict, components: dict | None = None, kwargs=None, src=""
) -> _Network:
    return _Network(
        {
            "version": 4,
            "name": name,
            "static_kwargs": kwargs or {},
            "components": components or {},
            "build_module_src": src,
            "build_func_name": "G_main",
            "variables": [(k, _Array(v)) for k, v in variables.items()],
        }
    )


TINY_KWARGS = dict(
    latent_size=8, dlatent_size=8, resolution=8, mapping_layers=2, fmap_base=32, fmap_max=16
)


def tiny_variables(seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """The variables of a tiny Gs (resolution 8, channels 16 then 8), by component."""
    rng = np.random.default_rng(seed)
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    mapping = {
        f"Dense{i}/{p}": r(8, 8) if p == "weight" else r(8)
        for i in range(2)
        for p in ("weight", "bias")
    }
    syn = {
        "4x4/Const/const": r(1, 16, 4, 4),
        "noise0": r(1, 1, 4, 4),
        "noise1": r(1, 1, 8, 8),
        "noise2": r(1, 1, 8, 8),
    }

    def layer(name, k, cin, cout, noise=True):
        syn.update(
            {
                f"{name}/weight": r(k, k, cin, cout),
                f"{name}/bias": r(cout),
                f"{name}/mod_weight": r(8, cin),
                f"{name}/mod_bias": r(cin),
            }
        )
        if noise:
            syn[f"{name}/noise_strength"] = r()

    layer("4x4/Conv", 3, 16, 16)
    layer("4x4/ToRGB", 1, 16, 3, noise=False)
    layer("8x8/Conv0_up", 3, 16, 8)
    layer("8x8/Conv1", 3, 8, 8)
    layer("8x8/ToRGB", 1, 8, 3, noise=False)
    return {
        "mapping": mapping,
        "synthesis": syn,
        "": {"lod": np.zeros((), np.float32), "dlatent_avg": r(8)},
    }


def tf_pickle_bytes(variables=None, kwargs=None, src: str = "", extra_state=None) -> bytes:
    """A (G, D, Gs) TF-format pickle; Gs holds `variables` (tiny_variables() by default)."""
    v = variables or tiny_variables()
    kw = dict(TINY_KWARGS if kwargs is None else kwargs)
    comps = {
        "mapping": _net("G_mapping", v["mapping"]),
        "synthesis": _net("G_synthesis", v["synthesis"]),
    }
    gs = _net("Gs", v[""], comps, kw, src)
    if extra_state:
        gs.state.update(extra_state)
    d = _net("D", {"x": np.zeros(1)}, kwargs=kw, src=src)
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump((gs, d, gs))
    return buf.getvalue()
