"""Where the bundled toyfaces weights live inside the package, and a friendly error when absent.

The generator and the landmark detector are trained by scripts in this package and shipped
as safetensors under nodes/toyfaces/weights/ so that `pip install` brings them.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"
GENERATOR_FILE = WEIGHTS_DIR / "toyfaces128.safetensors"
DETECTOR_FILE = WEIGHTS_DIR / "landmarks.safetensors"


class BundledModelMissing(FileNotFoundError):
    """The bundled weights are not in this install."""


def default_generator_path() -> Path:
    """Path of the bundled toyfaces generator; raises with the fix when it is missing."""
    if not GENERATOR_FILE.is_file():
        raise BundledModelMissing(
            f"the bundled default model {GENERATOR_FILE} is missing: train it with "
            "`python -m nodes.toyfaces.train` (it resumes from runs/toyfaces), or set the "
            "Generator node's `checkpoint` to a .safetensors file (`nodegraph convert` makes one "
            "from an NVIDIA .pkl)"
        )
    return GENERATOR_FILE
