"""The DragGAN node types, registered with the engine through the entry point "nodegraph.nodes"."""

from __future__ import annotations


def node_types() -> list[type]:
    from . import starter  # noqa: F401  (declares the editor's DragGAN start graph)
    from .drag_optimizer import DragOptimizerNode
    from .export import ExportNode
    from .export_animation import ExportAnimationNode
    from .generator import GeneratorNode
    from .image_load import ImageLoadNode
    from .invert_image import InvertNode
    from .latent import LatentNode
    from .mask import MaskNode
    from .pointset import PointSetNode
    from .render import RenderNode
    from .trajectory_load import TrajectoryLoadNode

    return [GeneratorNode, LatentNode, RenderNode, MaskNode, PointSetNode, DragOptimizerNode, ExportNode, ExportAnimationNode, ImageLoadNode, InvertNode, TrajectoryLoadNode]
