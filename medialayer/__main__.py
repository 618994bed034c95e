"""``python -m medialayer ...``: the same command as ``medialayer``."""
from medialayer.cli import main

main()
