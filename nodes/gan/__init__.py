"""StyleGAN2 and StyleGAN3 in plain PyTorch: the generators, our safetensors checkpoints, pickle conversion.

Usable without the graph: `G = load_generator(path); img = G(z)`.
"""

from .checkpoint import CheckpointError, load_generator, read_config, save_generator
from .model import Generator, GeneratorConfig
from .stylegan3 import StyleGAN3Config, StyleGAN3Generator

__all__ = [
    "CheckpointError",
    "Generator",
    "GeneratorConfig",
    "StyleGAN3Config",
    "StyleGAN3Generator",
    "load_generator",
    "read_config",
    "save_generator",
]
