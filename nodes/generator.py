"""Generator node: loads a StyleGAN2 checkpoint (our safetensors); empty = the bundled toyfaces model."""

from __future__ import annotations

from nodegraph.node import Node, Output, Param, file_key

from .types import GENERATOR


class GeneratorNode(Node):
    type_name = "Generator"
    category = "Model"
    doc = "Loads a StyleGAN2 generator. Re-loads when the checkpoint file changes."
    outputs = [Output("generator", GENERATOR, "the generator, on the evaluation device")]
    params = [
        Param("checkpoint", "path", "", doc="a .safetensors checkpoint (`nodegraph convert` makes one from an NVIDIA .pkl); empty = bundled toyfaces model"),
        Param("device", str, "auto", choices=("auto", "cpu", "cuda"), doc="override the evaluation device for this generator and what it feeds"),
        Param("precision", str, "float32", choices=("float32", "float16", "bfloat16"), doc="upper blocks in half precision on CUDA"),
    ]
    pure = False

    def checkpoint_path(self, params: dict):
        from nodes.toyfaces.bundled import default_generator_path

        if not params["checkpoint"]:
            return default_generator_path()
        return self.ctx.resolve_path(params["checkpoint"])

    def impure_key(self, params: dict) -> str:
        try:
            return file_key(self.checkpoint_path(params))
        except FileNotFoundError as e:
            return f"missing:{e}"

    def compute(self, ctx, **inputs):
        from nodes.gan import load_generator

        params = ctx.params
        device = ctx.device if params["device"] == "auto" else params["device"]
        G = load_generator(self.checkpoint_path(params), device=device)
        return {"generator": G.set_precision(params["precision"])}
