"""Render node: full synthesis of a latent into an image, for previews and export."""

from __future__ import annotations

import torch

from nodegraph.node import Input, Node, Output, Param
from nodes.gan.model import NOISE_MODES

from .types import GENERATOR, IMAGE, LATENT


class RenderNode(Node):
    type_name = "Render"
    category = "Image"
    doc = "Synthesises the image of a latent."
    inputs = [Input("generator", GENERATOR), Input("latent", LATENT)]
    outputs = [Output("image", IMAGE, "[1, 3, H, W] in [-1, 1]")]
    params = [Param("noise_mode", str, "const", choices=NOISE_MODES)]

    def compute(self, ctx, generator, latent):
        with torch.no_grad():
            image = generator.synthesis(latent.ws.to(generator.device), noise_mode=ctx.params["noise_mode"])
        return {"image": image.clamp(-1, 1)}
