"""Param overrides given on the command line, `NODE.PARAM=VALUE`: parsed once, here, for
`nodegraph run --set` and `nodegraph batch --set/--sweep`. VALUE is JSON when it parses, else text."""

from __future__ import annotations

import json
from typing import Any

from nodegraph.errors import GraphError


def parse_value(text: str) -> Any:
    """`4` -> 4, `0.5` -> 0.5, `[1, 2]` -> [1, 2], `true` -> True; anything else stays text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_target(target: str, option: str = "--set") -> tuple[str, str]:
    """`latent.seed` -> ("latent", "seed"); GraphError naming the option otherwise."""
    node, dot, param = target.partition(".")
    if not dot or not node or not param:
        raise GraphError(f"{option} {target!r} must name NODE.PARAM, e.g. latent.seed")
    return node, param


def parse_assignment(assignment: str, option: str = "--set") -> tuple[str, str, str]:
    """`NODE.PARAM=TEXT` -> (node, param, text), the text not yet parsed."""
    target, sep, text = assignment.partition("=")
    node, dot, param = target.partition(".")
    if not sep or not dot or not node or not param:
        raise GraphError(
            f"{option} {assignment!r} must look like NODE.PARAM=VALUE, e.g. latent.seed=4"
        )
    return node, param, text


def apply_overrides(graph: Any, overrides: dict[str, Any]) -> None:
    """Sets every `"node.param": value` on `graph` (each validated by the node's type)."""
    for target, value in overrides.items():
        node, param = parse_target(target)
        graph.set(node, **{param: value})
