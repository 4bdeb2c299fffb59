"""nodegraph: a scriptable node-graph engine with typed ports, undo, and lazy cached evaluation.

Build a Graph from registered Node types, evaluate it, save it; the editor and CLI sit on top."""

from nodegraph.batching import batch
from nodegraph.context import Context
from nodegraph.errors import BatchError, Cancelled, GraphError, NodeError, ProjectError
from nodegraph.events import CancelToken
from nodegraph.graph import Graph, NodeHandle, PortRef
from nodegraph.node import ANY, Input, Node, Output, Param, file_key
from nodegraph.registry import register, registry
from nodegraph.store import Link

__all__ = [
    "ANY",
    "BatchError",
    "CancelToken",
    "Cancelled",
    "Context",
    "Graph",
    "GraphError",
    "Input",
    "Link",
    "Node",
    "NodeError",
    "NodeHandle",
    "Output",
    "Param",
    "PortRef",
    "ProjectError",
    "batch",
    "file_key",
    "register",
    "registry",
]
