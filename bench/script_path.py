"""Make a benchmark script import the project, not its own directory's modules.

Run as a script, ``bench/`` comes first on ``sys.path``, and its ``settings.py`` would shadow the
site's. Each script imports this module first (it is found there) and calls :func:`use_project_root`.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def use_project_root() -> None:
    """Put the project root where the script's directory was on ``sys.path`` (or first)."""
    if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
        sys.path[0] = str(ROOT)
    elif str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
