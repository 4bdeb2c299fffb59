"""StyleGAN2 in plain PyTorch: the generator, our safetensors checkpoints, pickle conversion.

Usable without the graph: `G = load_generator(path); img = G(z)`.
"""

from .checkpoint import CheckpointError, load_generator, read_config, save_generator
from .model import Generator, GeneratorConfig

__all__ = ["CheckpointError", "Generator", "GeneratorConfig", "load_generator", "read_config", "save_generator"]
