"""Invert node: embeds an image in the generator (GAN inversion, W or W+), optionally followed
by Pivotal Tuning, so that a following DragOptimizer can edit a real picture (nodes.invert)."""

from __future__ import annotations

import torch

from nodegraph.node import Input, Node, Output, Param
from nodes.gan.model import LATENT_SPACES, NOISE_MODES

from .types import GENERATOR, IMAGE, LATENT, LatentCode


class InvertNode(Node):
    type_name = "Invert"
    category = "Model"
    doc = (
        "Finds the latent whose image matches the input image (Adam from the mean w), then with "
        "pti_steps > 0 tunes a copy of the generator around it (Pivotal Tuning) to recover details. "
        "Feed both outputs to a DragOptimizer. The input generator is never modified."
    )
    inputs = [
        Input("generator", GENERATOR),
        Input("image", IMAGE, doc="[1, 3, H, W] at the generator's resolution (ImageLoad linked to the generator)"),
    ]
    outputs = [
        Output("latent", LATENT, "the found W+ code (the pivot)"),
        Output("generator", GENERATOR, "the tuned copy with PTI, else the input generator"),
        Output("image", IMAGE, "the reconstruction: the output generator's image of the latent"),
    ]
    params = [
        Param("steps", int, 300, min=0, max=100000, doc="latent search steps"),
        Param("space", str, "w+", choices=LATENT_SPACES, doc="'w': one w for all layers; 'w+': one per layer (closer fit)"),
        Param("lr", float, 0.1, min=1e-5, max=10.0, step=0.01, doc="Adam's peak rate, in units of the spread of w"),
        Param("loss", str, "l2+edges", choices=("l2+edges", "l2", "lpips"), doc="'lpips' only when the lpips package and its weights are installed"),
        Param("pti_steps", int, 0, min=0, max=100000, doc="Pivotal Tuning steps; 0 = off"),
        Param("pti_lr", float, 1e-3, min=1e-7, max=1.0, step=1e-4, doc="peak Adam rate of Pivotal Tuning, warmed up and decayed (paper: constant 3e-4 for 350 steps)"),
        Param("noise_mode", str, "const", choices=NOISE_MODES),
        Param("preview_every", int, 10, min=0, max=10000, doc="send the current reconstruction every N steps (0 = never)"),
    ]

    def compute(self, ctx, generator, image):
        from nodes.invert import invert

        params = dict(ctx.params)
        preview_every = params.pop("preview_every")

        def on_step(state) -> None:
            preview = None
            if preview_every and state.step % preview_every == 0:
                preview = state.image.clamp(-1, 1)
            ctx.progress(state.step + 1, state.total, preview=preview, message=f"{state.stage}: PSNR {state.psnr:.1f} dB")

        result = invert(generator, image, on_step=on_step, cancel=ctx.cancel, **params)
        ctx.check_cancel()
        ctx.log(f"PSNR {result.pivot_psnr:.2f} dB after the latent search, {result.psnr:.2f} dB at the end ({result.stopped})")
        with torch.no_grad():
            reconstruction = result.image()
        space = params["space"]
        latent = LatentCode(result.ws, space, generator.img_resolution, f"inversion ({space}, {params['steps']} steps)")
        return {"latent": latent, "generator": result.generator, "image": reconstruction}
