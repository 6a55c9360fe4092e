"""A path as a user would type it: relative to the working directory when under it."""
import os
from pathlib import Path


def shown(path) -> str:
    try:
        resolved = Path(path).resolve()
        return os.path.relpath(resolved) if resolved.is_relative_to(Path.cwd()) else str(resolved)
    except (OSError, ValueError):
        return str(path)
