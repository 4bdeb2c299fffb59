"""The plugin API: the Context a node's compute (and impure_key) receives — params, device,
progress and cancel, paths under the trust rule, logs, warnings and notes. Importable without
the evaluator, which builds one per node and run."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nodegraph import events as ev
from nodegraph.atomic import atomic_write
from nodegraph.bound import OutputRoot, parts_within
from nodegraph.errors import Cancelled
from nodegraph.report import NodeRecord
from nodegraph.trust import Permissions, confine, is_inside


class JobShare:
    """What the jobs a batch worker runs at once have in common (`nodegraph batch
    --jobs-per-worker`): how many run together (`jobs`), and the objects a node type keeps for
    all of them (`get`), such as one that steps their work as one batch on a GPU."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = jobs
        self._items: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str, make: Callable[[], Any]) -> Any:
        """The object kept under `name`, made by `make()` on first use (once, whichever job asks first)."""
        with self._lock:
            if name not in self._items:
                self._items[name] = make()
            return self._items[name]


class Context:
    """What a node's compute sees: params, device, progress and cancel, paths, logging."""

    permissions: Permissions = Permissions()  # the run sets the graph's (what the user allowed)
    output_root: OutputRoot | None = None  # the run's opened output folder and write budget
    share: JobShare = JobShare()  # a batch worker's jobs at once (one job: nothing shared)

    def __init__(
        self,
        node_id: str,
        params: dict[str, Any],
        device: str,
        cancel: ev.CancelToken,
        emit: Callable[[Any], None],
        project_dir: Path,
        output_dir: Path,
        project_json: Callable[[], dict[str, Any]],
        record: NodeRecord,
        stops_early: bool = False,
    ) -> None:
        self.node_id = node_id
        self.params = params
        self.device = device
        self.cancel = cancel
        self.project_dir = project_dir
        self.output_dir = output_dir
        self.project_json = project_json
        self._emit = emit
        self._record = record
        self._stops_early = stops_early
        self._bound: dict[str, tuple[str, ...]] = {}  # output path -> its names under the root

    def progress(
        self,
        step: int,
        total: int,
        preview: Any = None,
        message: str | None = None,
        points: list | None = None,
    ) -> None:
        """Reports progress (an optional preview image and points to draw over it); raises
        Cancelled if cancel was requested (not on finish() in a node that stops early)."""
        self._emit(ev.NodeProgress(self.node_id, step, total, preview, message, points))
        self.check_cancel()

    def finishing(self) -> bool:
        """True when the user asked to stop and keep the result so far (CancelToken.finish)
        and this node's type can (`Node.stops_early`)."""
        return self._stops_early and self.cancel.is_set() and self.cancel.keep_partial

    def check_cancel(self) -> None:
        if self.cancel.is_set() and not self.finishing():
            raise Cancelled(self.node_id)

    def settle(self, **params: Any) -> None:
        """Says that the outputs about to be returned are what the node gives with `params`
        (merged over its own), e.g. `steps=64` for a drag stopped at step 64: the result is
        cached under those params and a NodeSettled event tells the editor to set them."""
        self._record.settled = dict(params)

    def warn(self, message: str) -> None:
        """A visible warning about this node's result (the run still succeeds)."""
        self._record.warnings.append(message)
        self._emit(ev.NodeWarning(self.node_id, message))

    def note(self, **facts: Any) -> None:
        """Figures about this node's result as plain data (e.g. a drag's steps and final
        distance), kept in its NodeRecord.facts; a batch run's manifest records them."""
        self._record.facts.update(facts)

    def log(self, message: str) -> None:
        self._record.log.append(message)
        self._emit(ev.NodeLog(self.node_id, message))

    def wrote(self, path: str | Path) -> None:
        """Tells the run (and the CLI summary) that this node wrote a file."""
        self._record.written.append(str(path))

    def resolve_path(self, path: str | Path) -> Path:
        """A path from a param, relative to the project's folder, made absolute. A file outside
        that folder may be read, but the run report lists it (the trust rule)."""
        path = Path(path).expanduser()
        path = path if path.is_absolute() else self.project_dir / path
        if not is_inside(path, self.project_dir) and str(path) not in self._record.read_outside:
            self._record.read_outside.append(str(path))
        return path

    def output_path(self, path: str | Path) -> Path:
        """Where to write an output file: relative to the output folder (default: the project's),
        its folders created. TrustError when it leaves the output folder and the user did not
        allow that (the trust rule, nodegraph/trust.py). Write it with `write_output`: the
        folders made here are then the ones written in, whatever links appear meanwhile."""
        param = next((n for n, v in self.params.items() if v == os.fspath(path)), "path")
        path = confine(path, self.output_dir, self.permissions, self.node_id, param)
        root = self.output_root
        outside = root is None or not is_inside(path, root.path)
        if outside and (root is None or self.permissions.write_outside):  # the user allowed it
            path.parent.mkdir(parents=True, exist_ok=True)
            return path
        # confine() found it inside; outside now means a link was swapped in since: refused
        parts = parts_within(path.resolve(), root.path)  # the real folders, as checked now
        root.handle().folder(parts[:-1]).close()
        self._bound[str(path)] = parts
        return path

    def write_output(self, path: str | Path, data: bytes) -> None:
        """Writes `data` as the file `path` (from output_path) atomically, through the folders
        output_path checked (nodegraph/bound.py), charged to the run's write budget first."""
        parts, root = self._bound.get(str(path)), self.output_root
        try:
            if root is None or parts is None:
                if root is not None:
                    root.budget.charge(len(data), f"writing {str(path)!r} ({len(data):,} bytes)")
                atomic_write(path, data)
                return
            with root.handle().folder(parts[:-1], create=True) as folder:
                folder.write(parts[-1], data, root.budget)
        except OSError as exc:  # a full disk, a size limit: say which file, and the fix
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
            hint = (
                "free some space or choose another output folder"
                if full
                else "check the output folder"
            )
            raise OSError(
                exc.errno, f"{exc.strerror}: can not write {str(path)!r}; {hint}"
            ) from None
