"""A graph snapshot as a project document (SPEC §4): JSON with tensors referenced by name, the
tensors themselves as safetensors bytes. Saving (nodegraph/project.py) and the run's
`ctx.project_json()` (what Export embeds in a PNG) both write documents through this module."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodegraph.graph import GraphSnapshot

FORMAT = "nodegraph.project"
VERSION = 1
TENSOR_REF = "$tensor"
INLINE_ENCODING = "safetensors+base64"


def encode_snapshot(snap: GraphSnapshot) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON document and the tensors it refers to, keyed "node.param"."""
    tensors: dict[str, Any] = {}
    nodes = []
    for state in snap.nodes.values():
        params = {}
        for name, value in state.params.items():
            decl = state.cls.param(name)
            if decl is not None and decl.type == "tensor" and value is not None:
                key = f"{state.id}.{name}"
                tensors[key] = value.detach().cpu().contiguous().clone()
                value = {TENSOR_REF: key}
            params[name] = value
        nodes.append(
            {"id": state.id, "type": state.cls.type_name, "params": params, "pos": list(state.pos)}
        )
    links = [{"from": [link.src, link.output], "to": [link.dst, link.input]} for link in snap.links]
    return {
        "format": FORMAT,
        "version": VERSION,
        "nodes": nodes,
        "links": links,
        "meta": snap.meta,
    }, tensors


def tensor_bytes(tensors: dict[str, Any]) -> bytes:
    from safetensors.torch import save as save_tensors

    return save_tensors(tensors, metadata={"format": FORMAT})


def snapshot_to_json(snap: GraphSnapshot, inline_tensors: bool = True) -> dict[str, Any]:
    """The project document; tensors inline (base64 safetensors) so it stands alone, e.g. in a PNG."""
    data, tensors = encode_snapshot(snap)
    if tensors and inline_tensors:
        data["tensors"] = {
            "encoding": INLINE_ENCODING,
            "data": base64.b64encode(tensor_bytes(tensors)).decode(),
        }
    return data
