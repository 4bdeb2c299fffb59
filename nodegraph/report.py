"""What a run did: one NodeRecord per node (status, why, seconds, files, notes) and the
EvaluationReport that Graph.evaluate returns; printable as a table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nodegraph.fingerprint import Fingerprint


@dataclass
class NodeRecord:
    """What happened to one node in a run: status is computed, cached, failed, cancelled or skipped."""

    node_id: str
    type_name: str
    status: str
    reason: str
    seconds: float = 0.0
    fingerprint: Fingerprint | None = None
    error: Exception | None = None
    written: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    settled: dict[str, Any] | None = None  # params that reproduce a result kept on finish()
    read_outside: list[str] = field(default_factory=list)  # files read outside the project folder
    facts: dict[str, Any] = field(default_factory=dict)  # figures the node noted (ctx.note)


@dataclass
class EvaluationReport:
    """The result of Graph.evaluate: per-node records and the requested nodes' outputs."""

    targets: list[str]
    device: str
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: bool = False
    seconds: float = 0.0

    def _with(self, status: str) -> list[str]:
        return [n for n, r in self.nodes.items() if r.status == status]

    @property
    def computed(self) -> list[str]:
        return self._with("computed")

    @property
    def cached(self) -> list[str]:
        return self._with("cached")

    @property
    def failed(self) -> list[str]:
        return self._with("failed")

    @property
    def skipped(self) -> list[str]:
        return self._with("skipped")

    @property
    def ok(self) -> bool:
        return not self.cancelled and not self.failed and not self.skipped

    @property
    def written(self) -> list[str]:
        """Files the nodes reported writing (ctx.wrote), in run order."""
        return [path for record in self.nodes.values() for path in record.written]

    @property
    def read_outside(self) -> list[tuple[str, str]]:
        """(node, file) for each file read outside the project's folder (allowed, but listed:
        the trust rule)."""
        return [(n, path) for n, record in self.nodes.items() for path in record.read_outside]

    def __str__(self) -> str:
        rows = [("node", "type", "status", "seconds", "why")]
        rows += [
            (r.node_id, r.type_name, r.status, f"{r.seconds:.3f}", r.reason)
            for r in self.nodes.values()
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4] for row in rows
        ]
        summary = (
            f"{len(self.computed)} computed, {len(self.cached)} cached, {len(self.failed)} failed"
        )
        summary += f", {len(self.skipped)} skipped" + (", cancelled" if self.cancelled else "")
        lines.append(f"{summary} on {self.device} in {self.seconds:.2f} s")
        return "\n".join(line.rstrip() for line in lines)
