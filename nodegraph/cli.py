"""The `nodegraph` command: run projects headless, list node types, open the editor, and the
extra commands (info, convert, bench, ...) that packages add through "nodegraph.cli_commands"."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nodegraph import events as ev
from nodegraph.batching import command as batch_command
from nodegraph.budgets import MAX_LINE_CHARS, cap
from nodegraph.errors import BatchError, GraphError, NodeError, ProjectError
from nodegraph.events import CancelToken
from nodegraph.overrides import parse_assignment, parse_value
from nodegraph.registry import CliCommandFn, load_cli_commands, registry
from nodegraph.trust import ALLOW_FOREIGN_FLAG, ALLOW_OUTSIDE_FLAG, DOWNLOAD_FLAG, Permissions

BUILTIN = ("run", "nodes", "edit", "batch")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


DEBUG_FLAG, DEBUG_ENV = "--debug", "NODEGRAPH_DEBUG"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code: 0 ok, 1 a node failed, 2 bad project or arguments,
    130 interrupted. Whatever a command raises becomes one capped line on stderr (the traceback
    too with --debug or NODEGRAPH_DEBUG=1); Ctrl+C at any moment exits 130 without a traceback;
    a closed stdout (`nodegraph nodes | head`) ends the command quietly."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    _debug[0] = debug
    argv = [a for a in argv if a != DEBUG_FLAG]
    pressed: list[int] = []
    try:
        with _remember_interrupts(pressed):
            code = _dispatch(argv)
        if pressed:  # a Ctrl+C that a library swallowed (importlib's module-lock callbacks do)
            raise KeyboardInterrupt
        return code
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("nodegraph: interrupted", file=sys.stderr)
        _forget_interrupt()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_FAILED
    except Exception as exc:  # the last guard: one line, never a traceback unless asked
        print_error(exc)
        return EXIT_USAGE if isinstance(exc, GraphError | ProjectError | BatchError) else EXIT_FAILED


@contextmanager
def _remember_interrupts(pressed: list[int]) -> Iterator[None]:
    """Ctrl+C raises KeyboardInterrupt as Python's own handler does, and is also noted in
    `pressed`: an interrupt raised inside a weakref callback (importlib's module locks have
    them) is dropped with an 'Exception ignored' report, and the command would go on and exit 0.
    Such a report of a KeyboardInterrupt is left out: main() reports the interrupt itself."""
    if threading.current_thread() is not threading.main_thread():
        yield  # no SIGINT reaches this thread: nothing to note
        return

    def handler(signum: int, frame: Any) -> None:
        pressed.append(signum)
        raise KeyboardInterrupt

    def unraisable(report: Any) -> None:
        if not isinstance(report.exc_value, KeyboardInterrupt):
            previous_hook(report)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    try:
        with _on_sigint(handler):
            yield
    finally:
        sys.unraisablehook = previous_hook


@contextmanager
def _on_sigint(handler: Any) -> Iterator[None]:
    """`handler` answers SIGINT inside the block, then the previous one again. Python runs signal
    handlers in the main thread only, so elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _forget_interrupt() -> None:
    """Make the exit status ours (130) after a caught Ctrl+C. CPython (3.11) marks a
    KeyboardInterrupt 'unhandled' whenever it leaves code that exec() runs from a string, caught
    later or not (dataclasses builds __init__ that way, so Ctrl+C during an import can), and then
    ends the process by SIGINT at exit (status -2); each string evaluation clears that mark."""
    exec("None")


def _silence_stdout() -> None:
    """After the reader of stdout went away: point stdout at /dev/null, so the interpreter's
    final flush does not report the broken pipe a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _dispatch(argv: list[str]) -> int:
    extra = {} if argv and argv[0] in BUILTIN else load_cli_commands()
    if argv and argv[0] in extra:
        return int(extra[argv[0]][1](argv[1:]) or 0)
    parser = build_parser(extra)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 after --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return args.func(args)


def build_parser(extra: dict[str, tuple[str, CliCommandFn]]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nodegraph", description="Node-graph environment for DragGAN-style editing."
    )
    parser.add_argument(
        DEBUG_FLAG, action="store_true", help=f"show tracebacks (also {DEBUG_ENV}=1)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="evaluate a project (or a PNG it exported) headless")
    run.add_argument("project", help="X.ngproj.json, or a PNG with an embedded project")
    run.add_argument("--device", default="auto", help="auto (default: cuda, else mps, else cpu), cpu, cuda or mps")
    run.add_argument(
        "--output-dir", help="folder for relative output paths (default: the project's folder)"
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NODE.PARAM=VALUE",
        help="override a param; VALUE is JSON or a string",
    )
    add_trust_flags(run)
    run.add_argument(
        DOWNLOAD_FLAG,
        action="store_true",
        help="let the run download a model a Generator names that is not cached (nodegraph models)",
    )
    run.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar or table, only errors and written files",
    )
    run.set_defaults(func=cmd_run)
    nodes = sub.add_parser(
        "nodes", help="list the registered node types with their ports and params"
    )
    nodes.add_argument("--json", action="store_true", help="machine-readable output")
    nodes.set_defaults(func=cmd_nodes)
    edit = sub.add_parser("edit", help="open the editor (needs dearpygui)")
    edit.add_argument("project", nargs="?", help="project or PNG to open")
    edit.add_argument(
        "--screenshot", metavar="OUT", help="render, save a screenshot to OUT and exit"
    )
    edit.add_argument(
        "--frames", type=int, default=3, help="frames to render before the screenshot"
    )
    edit.add_argument(
        "--run", action="store_true", help="evaluate the project before the screenshot"
    )
    edit.add_argument(
        "--fps-log", metavar="FILE", help="append frames drawn, fps and CPU use once a second"
    )
    edit.set_defaults(func=cmd_edit)
    batch_command.add_parser(sub, add_trust_flags).set_defaults(func=cmd_batch)
    for name, (help_text, _) in sorted(extra.items()):
        if name not in BUILTIN:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


# --- run -----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from nodegraph.project import load

    try:
        graph = load(args.project)
        for assignment in args.set:
            apply_set(graph, assignment)
    except (ProjectError, GraphError) as exc:
        print_error(exc)
        return EXIT_USAGE
    graph.permissions = permissions_from(args)
    cancel = CancelToken()
    progress = ProgressPrinter(quiet=args.quiet)
    try:
        with sigint_cancels(cancel):
            report = graph.evaluate(
                device=args.device, on_event=progress, cancel=cancel, output_dir=args.output_dir
            )
    except NodeError as exc:
        progress.close()
        print_error(exc)
        return EXIT_FAILED
    except (GraphError, ProjectError) as exc:  # ProjectError: the trust rule refused a write
        progress.close()
        print_error(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        progress.close()
        print("nodegraph: aborted", file=sys.stderr)
        return EXIT_INTERRUPTED
    progress.close()
    if not args.quiet:
        print(report)
    for path in report.written:
        print(f"wrote {one_line(path)}")
    for node_id, path in report.read_outside:
        print(f"read outside the project folder: {one_line(path)} (node {node_id!r})")
    print_warnings(report)
    if report.cancelled:
        print("nodegraph: cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def print_warnings(report) -> None:
    """The nodes' warnings about their results (a drag that ended short of its targets), one line
    each on stderr: the run succeeded, but what it made may not be what the project asks."""
    for node_id, record in report.nodes.items():
        for warning in record.warnings:
            print(
                f"nodegraph: warning: node {node_id!r} ({record.type_name}): {one_line(warning)}",
                file=sys.stderr,
            )


def one_line(text: Any, limit: int = MAX_LINE_CHARS) -> str:
    """`text` with line breaks and other control characters escaped and capped at `limit`
    characters (budgets.cap): a message quoting a hostile file stays one short line and cannot
    drive the terminal."""
    text = cap(text, 2 * limit)  # before escaping: a 20 MB string is not walked char by char
    return cap("".join(c if c.isprintable() else repr(c)[1:-1] for c in text), limit)


_debug = [False]  # main() sets it: --debug or NODEGRAPH_DEBUG=1


def print_error(exc: BaseException, prog: str = "nodegraph") -> None:
    """One capped line on stderr; with --debug or NODEGRAPH_DEBUG=1 the traceback before it."""
    if _debug[0]:
        traceback.print_exception(exc)
    prefix = f"{prog}: error: "
    print(prefix + one_line(exc, MAX_LINE_CHARS - len(prefix)), file=sys.stderr)


def add_trust_flags(parser: argparse.ArgumentParser) -> None:
    """The flags by which the user allows a project more than the trust rule (run and batch)."""
    parser.add_argument(
        ALLOW_OUTSIDE_FLAG,
        action="store_true",
        help="let the project write outside its output folder (absolute paths, .., ~, symlinks)",
    )
    parser.add_argument(
        ALLOW_FOREIGN_FLAG,
        action="store_true",
        help="let the project replace files nodegraph did not write where it sets overwrite=true",
    )


def permissions_from(args: argparse.Namespace) -> Permissions:
    return Permissions(
        write_outside=args.allow_outside,
        overwrite_foreign=args.allow_overwrite_foreign,
        download=getattr(args, "download", False),
    )


def apply_set(graph: Any, assignment: str) -> None:
    """Applies one `--set NODE.PARAM=VALUE`; VALUE is parsed as JSON when it can be."""
    node, param, text = parse_assignment(assignment)
    graph.set(node, **{param: parse_value(text)})


# --- batch ---------------------------------------------------------------------------------
def cmd_batch(args: argparse.Namespace) -> int:
    return batch_command.cmd_batch(args, permissions_from(args))


class ProgressPrinter:
    """Turns evaluation events into lines and a tqdm bar on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar: Any = None

    def __call__(self, event: Any) -> None:
        if self.quiet:
            return
        if isinstance(event, ev.NodeStarted):
            self.close()
            print(f"{event.node_id} ({event.type_name}): {event.reason}", file=sys.stderr)
        elif isinstance(event, ev.NodeProgress):
            self._progress(event)
        elif isinstance(event, ev.NodeLog):
            self._write(f"  {event.node_id}: {event.message}")
        elif isinstance(event, ev.NodeFinished | ev.NodeFailed | ev.RunCancelled):
            self.close()

    def _progress(self, event: ev.NodeProgress) -> None:
        from tqdm import tqdm

        if self.bar is None or self.bar.total != event.total:
            self.close()
            self.bar = tqdm(total=event.total, desc=event.node_id, file=sys.stderr, leave=False)
        self.bar.n = event.step
        if event.message:
            self.bar.set_postfix_str(event.message, refresh=False)
        self.bar.refresh()

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def sigint_cancels(cancel: CancelToken) -> Iterator[None]:
    """First Ctrl+C sets the cancel token (the running node stops cleanly); the second aborts."""

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nnodegraph: cancelling (Ctrl+C again to abort)", file=sys.stderr)

    with _on_sigint(handler):
        yield


# --- nodes, edit ---------------------------------------------------------------------------
def describe_types() -> list[dict[str, Any]]:
    """Every registered node type as plain data (what `nodegraph nodes --json` prints)."""
    out = []
    for name, cls in registry().types().items():
        params = []
        for p in cls.params:
            entry = {"name": p.name, "type": p.type_label, "default": p.default, "doc": p.doc}
            entry.update(
                {
                    k: v
                    for k, v in (("min", p.min), ("max", p.max), ("choices", p.choices))
                    if v is not None
                }
            )
            if p.type == "tensor":
                entry["default"] = None
            params.append(entry)
        out.append({
            "type": name, "category": cls.category, "version": cls.version, "doc": cls.doc or (cls.__doc__ or "").strip(),
            "pure": cls.pure, "is_output": cls.is_output,
            "inputs": [{"name": i.name, "type": i.type, "optional": i.optional, "doc": i.doc} for i in cls.inputs],
            "outputs": [{"name": o.name, "type": o.type, "doc": o.doc} for o in cls.outputs],
            "params": params,
        })  # fmt: skip
    return out


def cmd_nodes(args: argparse.Namespace) -> int:
    types = describe_types()
    if args.json:
        print(json.dumps(types, indent=1, default=str))
        return EXIT_OK
    for t in types:
        print(
            f"{t['type']}  [{t['category']}] v{t['version']}"
            + ("  (output)" if t["is_output"] else "")
        )
        if t["doc"]:
            print(f"    {t['doc'].splitlines()[0]}")
        for i in t["inputs"]:
            print(f"    in   {i['name']}: {i['type']}" + (" (optional)" if i["optional"] else ""))
        for o in t["outputs"]:
            print(f"    out  {o['name']}: {o['type']}")
        for p in t["params"]:
            limits = ", ".join(f"{k} {p[k]}" for k in ("min", "max", "choices") if k in p)
            print(
                f"    param {p['name']}: {p['type']} = {p['default']!r}"
                + (f" ({limits})" if limits else "")
            )
    for message in registry().load_errors:
        print(f"nodegraph: warning: {message}", file=sys.stderr)
    return EXIT_OK


def cmd_edit(args: argparse.Namespace) -> int:
    """Opens the editor: calls nodegraph.editor.main(args) with this command's namespace."""
    try:
        editor = importlib.import_module("nodegraph.editor")
    except ModuleNotFoundError as exc:
        missing = (
            "dearpygui (pip install dearpygui)"
            if (exc.name or "").startswith("dearpygui")
            else exc.name
        )
        print(f"nodegraph: error: the editor cannot start: missing {missing}", file=sys.stderr)
        return EXIT_USAGE
    return int(editor.main(args) or 0)
