"""``python -m medialayer ...``: the same command as ``medialayer``."""
import sys

from medialayer.cli import main

sys.exit(main())
