"""Latent node: the starting W+ code of a drag, from a seed (official z sampling) or a saved file."""

from __future__ import annotations

import torch

from nodegraph.node import Input, Node, Output, Param, file_key
from nodegraph.readers import read_regular
from nodes.gan.model import LATENT_SPACES

from .types import GENERATOR, LATENT, LatentCode

MAX_LATENT_BYTES = 16 * 1024**2  # a 1024 px model's W+ code is 36 KB


class LatentNode(Node):
    type_name = "Latent"
    category = "Model"
    doc = "z from a seed (as the official tools draw it) mapped to W+, with truncation; or a saved latent."
    inputs = [Input("generator", GENERATOR)]
    outputs = [Output("latent", LATENT, "W+ code [1, num_ws, w_dim]")]
    params = [
        Param("seed", int, 0, min=0, max=2**32 - 1, doc="z = RandomState(seed).randn(z_dim)"),
        Param("truncation_psi", float, 0.7, min=0.0, max=2.0, step=0.05, doc="w = w_avg + psi (w - w_avg); 0.7 as DragGAN"),
        Param("space", str, "w+", choices=LATENT_SPACES, doc="the space a following drag edits by default"),
        Param("from_file", "path", "", doc="a latent saved by Export (.safetensors); overrides seed"),
    ]
    pure = False  # from_file reads a file

    def impure_key(self, params: dict) -> str:
        if not params["from_file"]:
            return "seed"
        return file_key(self.ctx.resolve_path(params["from_file"]))

    def compute(self, ctx, generator):
        params = ctx.params
        G = generator
        if params["from_file"]:
            ws = load_latent(ctx.resolve_path(params["from_file"]), G).to(G.device)
            source = f"file {params['from_file']}"
        else:
            ws = G.random_ws(params["seed"], truncation_psi=params["truncation_psi"])
            source = f"seed {params['seed']}, psi {params['truncation_psi']}"
        return {"latent": LatentCode(ws, params["space"], G.img_resolution, source)}


def load_latent(path, G) -> torch.Tensor:
    """A latent file written by Export: tensor "ws" [1, num_ws, w_dim] (or "w" [1, w_dim]), a
    regular file of at most MAX_LATENT_BYTES (docs/PROJECTS.md, "Limits")."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        tensors = load(read_regular(path, MAX_LATENT_BYTES, "latent file"))
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"cannot read latent file {path}: {e}") from None
    if "ws" in tensors:
        ws = tensors["ws"].float()
    elif "w" in tensors:
        ws = tensors["w"].float().reshape(1, 1, -1).repeat(1, G.num_ws, 1)
    else:
        raise ValueError(f"latent file {path} has no tensor 'ws' or 'w' (it has {sorted(tensors)})")
    if ws.ndim == 2:
        ws = ws.unsqueeze(0)
    if tuple(ws.shape) != (1, G.num_ws, G.w_dim):
        raise ValueError(f"latent file {path} holds ws of shape {list(ws.shape)}; this generator needs [1, {G.num_ws}, {G.w_dim}]")
    return ws
