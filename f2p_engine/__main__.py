"""`python3 -m f2p_engine`: the `f2p` command line (f2p_engine.cli.main)."""

import sys

try:  # Ctrl-C while the command line is still being imported: one line, like anywhere later
    from f2p_engine.cli import main
except KeyboardInterrupt:
    print("f2p: interrupted", file=sys.stderr)  # noqa: T201 (command-line output)
    sys.exit(130)

sys.exit(main())
