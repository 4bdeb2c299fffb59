"""The `nodegraph` console script's first code: Ctrl+C while the program is still importing
exits 130 with one line, as it does later (nodegraph.cli.main handles everything after)."""

from __future__ import annotations

import sys

INTERRUPTED = 130


def main() -> int:
    """Import the command line (torch, networkx, the node types: about a second) and run it."""
    try:
        from nodegraph.cli import main as cli_main
    except KeyboardInterrupt:
        print("nodegraph: interrupted", file=sys.stderr)
        return INTERRUPTED
    return cli_main()
