"""The `nodegraph` console script's first code: Ctrl+C while the program is still importing
exits 130 with one line, as it does later (nodegraph.cli.main handles everything after).

A KeyboardInterrupt raised inside the imports can land in code that swallows it (importlib's
module-lock weakref callbacks print "Exception ignored" and carry on), so during the imports
Ctrl+C only sets a flag, read once they are done (about a second)."""

from __future__ import annotations

import signal
import sys

INTERRUPTED = 130


def main() -> int:
    """Import the command line (torch, networkx, the node types: about a second) and run it."""
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        from nodegraph.cli import main as cli_main
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        print("nodegraph: interrupted", file=sys.stderr)
        return INTERRUPTED
    return cli_main()
