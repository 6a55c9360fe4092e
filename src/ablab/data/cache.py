"""Decoded tensors cached next to the raw files, so each job of a sweep loads in a blink.

The key covers the source, its options and a fingerprint (names, sizes, mtimes) of the
files under the data root: change a file and the cache is rebuilt. A cache file also
records the version of the decoding code and a CRC-32 of its tensors' bytes, checked on
every load (about 12 ms for MNIST's 47 MB of training images, mmapped): a file written
by older decoding code, or whose bytes changed since (same size, same mtime), is rebuilt.

The cache goes only where ablab may write: `<data root>/.ablab-cache` when a trial write
there succeeds and the folder's mode lets someone write (root writes through any mode,
so a folder chmod'ed read-only is taken at its word), else $ABLAB_CACHE or ~/.cache/ablab.
A cache that cannot be written (a full disk) costs only speed: the run trains uncached.
"""
import dataclasses
import hashlib
import json
import os
import sys
import zlib
from pathlib import Path

import torch

from ablab.data.sources import DecodedDataset
from ablab.paths import atomic_write, disk_full, writable

CACHE_DIR_NAME = ".ablab-cache"
# Bump whenever decoding changes what a source returns (orientation, dtype, splits, ...):
# caches written by older code are then rebuilt instead of trusted.
DECODE_VERSION = 2


def _fingerprint(root: Path) -> list:
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != CACHE_DIR_NAME)
        for name in sorted(files):
            stat_ = os.stat(os.path.join(folder, name))
            entries.append([os.path.relpath(os.path.join(folder, name), root), stat_.st_size, stat_.st_mtime_ns])
    return entries


def _cache_dir(root: Path) -> Path:
    local = root / CACHE_DIR_NAME
    if local.is_dir() and writable(local) or not local.exists() and writable(root):
        try:
            local.mkdir(exist_ok=True)
            return local
        except OSError:
            pass
    fallback = Path(os.environ.get("ABLAB_CACHE") or Path.home() / ".cache" / "ablab")
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def checksum(decoded: DecodedDataset) -> int:
    """CRC-32 over every tensor's bytes, in field order (reads an mmapped file once)."""
    crc = 0
    for field in dataclasses.fields(decoded):
        value = getattr(decoded, field.name)
        if isinstance(value, torch.Tensor):
            crc = zlib.crc32(memoryview(value.contiguous().numpy()).cast("B"), crc)
    return crc


def _read(path: Path) -> DecodedDataset | None:
    """The cached DecodedDataset, or None when the file is unreadable, from other decoding code or damaged."""
    try:
        saved = torch.load(path, weights_only=True, mmap=True)
        if saved.get("version") != DECODE_VERSION:
            return None
        decoded = DecodedDataset(**saved["raw"])
        return decoded if checksum(decoded) == saved.get("crc32") else None
    except Exception:
        return None


def load_cached(name: str, root: str, options: dict, load) -> DecodedDataset:
    """`load()` decodes from the raw files; its result is saved and reused while they stay the same."""
    base = Path(root).resolve()
    if not base.exists():
        return load()  # let the source download or explain what is missing
    key = json.dumps([name, str(base), options, _fingerprint(base)], sort_keys=True, default=str)
    path = _cache_dir(base) / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"
    if path.exists():
        decoded = _read(path)
        if decoded is not None:
            return decoded
        path.unlink(missing_ok=True)  # a half-written, stale or damaged cache is rebuilt, never trusted
    decoded = load()
    _write(path, decoded)
    return decoded


def _write(path: Path, decoded: DecodedDataset) -> None:
    try:
        with atomic_write(path) as f:
            torch.save({"version": DECODE_VERSION, "crc32": checksum(decoded), "raw": dataclasses.asdict(decoded)}, f)
    except (OSError, RuntimeError) as exc:  # e.g. a full disk: the data is loaded, so train without the cache
        os_error = disk_full(exc) or exc
        why = getattr(os_error, "strerror", None) or str(exc).splitlines()[0]
        print(f"ablab: could not write the data cache {path} ({why}); training uncached",
              file=sys.stderr)
