"""`python -m nodegraph`: the same as the `nodegraph` command.

See nodegraph.cli for the subcommands."""

import sys

from nodegraph.entry import main

sys.exit(main())
