"""Decoded tensors cached next to the raw files, so each job of a sweep loads in a blink.

The key covers the source, its options and a fingerprint (names, sizes, mtimes) of the
files under the data root: change a file and the cache is rebuilt. A read-only root
(the shared datasets) caches under ~/.cache/ablab instead.
"""
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import torch

from ablab.data.sources import Raw

CACHE_DIR_NAME = ".ablab-cache"


def _fingerprint(root: Path) -> list:
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != CACHE_DIR_NAME)
        for name in sorted(files):
            stat = os.stat(os.path.join(folder, name))
            entries.append([os.path.relpath(os.path.join(folder, name), root), stat.st_size, stat.st_mtime_ns])
    return entries


def _cache_dir(root: Path) -> Path:
    local = root / CACHE_DIR_NAME
    try:
        local.mkdir(parents=True, exist_ok=True)
        if os.access(local, os.W_OK):
            return local
    except OSError:
        pass
    fallback = Path(os.environ.get("ABLAB_CACHE", Path.home() / ".cache" / "ablab"))
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def load_cached(name: str, root: str, options: dict, load) -> Raw:
    """`load()` decodes from the raw files; its result is saved and reused while they stay the same."""
    base = Path(root).resolve()
    if not base.exists():
        return load()  # let the source download or explain what is missing
    key = json.dumps([name, str(base), options, _fingerprint(base)], sort_keys=True, default=str)
    path = _cache_dir(base) / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"
    if path.exists():
        try:
            return Raw(**torch.load(path, weights_only=True, mmap=True))
        except Exception:
            path.unlink(missing_ok=True)  # a half-written or stale cache is rebuilt, never trusted
    raw = load()
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(dataclasses.asdict(raw), tmp)
    os.replace(tmp, path)
    return raw
