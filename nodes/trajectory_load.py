"""TrajectoryLoad node: a drag's trajectory saved by Export, read back so ExportAnimation can re-export it.

The file is read as untrusted input (nodes/trajectory_file.py); a path outside the project folder is listed in the run report (the trust rule)."""

from __future__ import annotations

from nodegraph.node import Node, Output, Param, file_key

from .trajectory import TRAJECTORY
from .trajectory_file import decode_trajectory


class TrajectoryLoadNode(Node):
    type_name = "TrajectoryLoad"
    category = "Input"
    doc = "Reads a trajectory file written by Export (.trajectory.safetensors): a saved drag film, re-exported without re-running the drag."
    inputs = []
    outputs = [Output("trajectory", TRAJECTORY, "the drag as it was recorded")]
    params = [
        Param("path", "path", "", doc="a .trajectory.safetensors file; relative paths are under the project folder"),
    ]  # fmt: skip
    pure = False  # reads a file

    def impure_key(self, params: dict) -> str:
        return file_key(self.ctx.resolve_path(params["path"])) if params["path"] else "no file"

    def compute(self, ctx):
        if not ctx.params["path"]:
            raise ValueError(
                f"TrajectoryLoad {ctx.node_id!r} has no path: set `path` to a .trajectory.safetensors file written by Export"
            )
        return {"trajectory": decode_trajectory(ctx.resolve_path(ctx.params["path"]))}
