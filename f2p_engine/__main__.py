"""`python3 -m f2p_engine` and the `f2p` console script: the command line (f2p_engine.cli.main).

This module imports nothing heavy, so a Ctrl-C while the command line is still being imported
ends like one anywhere later: one line, exit 130.
"""

import sys


def run() -> int:
    try:
        from f2p_engine.cli import main
    except KeyboardInterrupt:
        print("f2p: interrupted", file=sys.stderr)  # noqa: T201 (command-line output)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
