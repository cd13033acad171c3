"""`python -m app` and the PyInstaller bundle's entry point: the f2p-studio desktop app."""

import sys

from app.main import main

sys.exit(main())
