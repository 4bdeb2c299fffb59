"""DragGAN's drag engine in plain PyTorch: motion supervision, point tracking and the loop.

Usable without the graph: `result = drag(G, ws, handles, targets, mask, DragConfig(steps=100))`.
"""

from .config import TRACKING_MODES, DragConfig, ResolvedConfig, recommended_settings
from .loop import DragResult, DragState, HistoryEntry, drag

__all__ = [
    "TRACKING_MODES",
    "DragConfig",
    "DragResult",
    "DragState",
    "HistoryEntry",
    "ResolvedConfig",
    "drag",
    "recommended_settings",
]
