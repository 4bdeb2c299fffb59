"""Generator node: loads a StyleGAN2 or StyleGAN3 checkpoint (our safetensors, or a model name
from the cache); empty = the bundled toyfaces model. A StyleGAN3 input can be translated and
rotated, as in the official GUI."""

from __future__ import annotations

from nodegraph.node import Node, Output, Param, file_key

from .types import GENERATOR


class GeneratorNode(Node):
    type_name = "Generator"
    category = "Model"
    doc = "Loads a StyleGAN2 or StyleGAN3 generator. Re-loads when the checkpoint file changes."
    outputs = [Output("generator", GENERATOR, "the generator, on the evaluation device")]
    params = [
        Param("checkpoint", "path", "", doc="a .safetensors checkpoint (`nodegraph convert` makes one from an NVIDIA .pkl), or a model name (`nodegraph models list`, e.g. stylegan2-ffhq-512); empty = bundled toyfaces model"),
        Param("device", str, "auto", choices=("auto", "cpu", "cuda", "mps"), doc="override the evaluation device for this generator and what it feeds (mps: Apple GPUs, untested)"),
        Param("precision", str, "float32", choices=("float32", "float16", "bfloat16"), doc="upper blocks in half precision on CUDA"),
        Param("compile", bool, False, doc="drags synthesise their features through torch.compile (on CUDA as CUDA graphs: faster steps); the first step compiles, tens of seconds"),
        Param("translate_x", float, 0.0, min=-2.0, max=2.0, step=0.01, doc="StyleGAN3 only: move the input right, in image widths"),
        Param("translate_y", float, 0.0, min=-2.0, max=2.0, step=0.01, doc="StyleGAN3 only: move the input down, in image heights"),
        Param("rotate", float, 0.0, min=-360.0, max=360.0, step=1.0, doc="StyleGAN3 only: rotate the input, in degrees"),
    ]
    pure = False

    def checkpoint_path(self, params: dict):
        from nodes.models import model_path, model_reference
        from nodes.toyfaces.bundled import default_generator_path

        if not params["checkpoint"]:
            return default_generator_path()
        if name := model_reference(params["checkpoint"]):
            return model_path(name)  # in the model cache, which the trust rule lets us read
        return self.ctx.resolve_path(params["checkpoint"])

    def fetch_model(self, ctx, name: str) -> None:
        """Downloads the named model into the cache, when the user allowed it (`run --download`
        or the editor's dialog); a project never starts a download by itself (trust rule)."""
        from nodegraph.trust import TrustError
        from nodes.models import ModelNotCached, get_model

        if not ctx.permissions.download:
            raise TrustError(str(ModelNotCached(name)), ctx.node_id, "checkpoint", name, "download")
        mib = 2**20
        get_model(name, progress=lambda done, total: ctx.progress(done // mib, (total or done) // mib, message=f"downloading {name} (MiB)"))

    def impure_key(self, params: dict) -> str:
        try:
            return file_key(self.checkpoint_path(params))
        except FileNotFoundError as e:
            return f"missing:{e}"

    def compute(self, ctx, **inputs):
        from nodegraph.evaluate import resolve_device
        from nodes.drag.compiled import compile_features
        from nodes.gan import load_generator
        from nodes.gan.families import has_input_transform
        from nodes.models import model_reference

        params = ctx.params
        device = ctx.device if params["device"] == "auto" else resolve_device(params["device"])
        path = self.checkpoint_path(params)
        if (name := model_reference(params["checkpoint"])) and not path.is_file():
            self.fetch_model(ctx, name)
        G = load_generator(path, device=device)
        transform = (params["translate_x"], params["translate_y"], params["rotate"])
        if has_input_transform(G):
            G.set_input_transform(*transform)
        elif any(transform):
            raise ValueError(
                f"Generator {ctx.node_id!r}: translate_x, translate_y and rotate move a StyleGAN3 "
                f"generator's input, but {path} is a StyleGAN2 generator: set them to 0"
            )
        return {"generator": compile_features(G.set_precision(params["precision"]), params["compile"])}
