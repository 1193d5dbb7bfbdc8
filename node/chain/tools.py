"""Locate the npm-installed toolchain (anvil, solcjs) and fail with the fix when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

from node.errors import ToolMissing

#: Repository root when running from a checkout (node/chain/tools.py -> repo).
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def node_bin_dirs(extra: Path | None = None) -> list[Path]:
    """Directories searched for npm binaries: an explicit one, the cwd's, the checkout's."""
    dirs = []
    if extra is not None:
        dirs.append(extra)
    env = os.environ.get("FEDCHAIN_NODE_BIN")
    if env:
        dirs.append(Path(env))
    dirs += [Path.cwd() / "node_modules" / ".bin", PACKAGE_ROOT / "node_modules" / ".bin"]
    return dirs


def find_tool(name: str, extra: Path | None = None) -> Path:
    """Return the path of the npm binary ``name`` (``anvil``, ``solcjs``).

    Raises ToolMissing saying how to install it when no candidate directory holds it.
    """
    searched = node_bin_dirs(extra)
    for directory in searched:
        candidate = directory / name
        if candidate.exists() and os.access(candidate, os.X_OK):
            return candidate
    where = ", ".join(str(d) for d in searched)
    raise ToolMissing(
        f"{name} was not found (looked in {where})",
        fix="run `make install` (or `npm ci`) in the fedchain checkout, "
        "or set FEDCHAIN_NODE_BIN to the directory holding it",
    )
