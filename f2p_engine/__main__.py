import sys

from f2p_engine.cli import main

sys.exit(main())
