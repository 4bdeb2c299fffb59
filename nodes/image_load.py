"""ImageLoad node: a picture file (PNG, JPEG, WebP) as an IMAGE at a generator's resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nodegraph.node import Input, Node, Output, Param, file_key

from .types import GENERATOR, IMAGE


class ImageLoadNode(Node):
    type_name = "ImageLoad"
    category = "Image"
    doc = (
        "Reads a PNG, JPEG or WebP file. Centre-crops it to a square (the middle of the longer "
        "side) and resizes that to the resolution (Lanczos): the linked generator's, else the "
        "`resolution` param. Transparency is dropped. Re-reads when the file changes."
    )
    inputs = [Input("generator", GENERATOR, optional=True, doc="link it to take its resolution")]
    outputs = [Output("image", IMAGE, "[1, 3, R, R] in [-1, 1]")]
    params = [
        Param("path", "path", "", doc="the picture; relative paths are under the project folder"),
        Param("resolution", int, 128, min=4, max=4096, doc="square size when no generator is linked"),
    ]
    pure = False  # reads a file

    def impure_key(self, params: dict) -> str:
        return file_key(self.ctx.resolve_path(params["path"])) if params["path"] else "no file"

    def compute(self, ctx, generator=None):
        if not ctx.params["path"]:
            raise ValueError(f"ImageLoad {ctx.node_id!r} has no path: set `path` to a PNG, JPEG or WebP file")
        size = generator.img_resolution if generator is not None else ctx.params["resolution"]
        image = load_image(ctx.resolve_path(ctx.params["path"]), size)
        return {"image": image.to(ctx.device if generator is None else generator.device)}


def load_image(path: str | Path, size: int) -> torch.Tensor:
    """The picture at `path` as [1, 3, size, size] in [-1, 1]: centre square, resized.

    ValueError naming the file when it is missing or not a readable image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as picture:
            picture = picture.convert("RGB")
    except FileNotFoundError:
        raise ValueError(f"image file {path} does not exist: check the ImageLoad path") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"cannot read image file {path} ({e}): give a PNG, JPEG or WebP file") from None
    width, height = picture.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = picture.crop((left, top, left + side, top + side))
    square = square.resize((size, size), Image.Resampling.LANCZOS)
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32).copy())
    return (pixels / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0).contiguous()
