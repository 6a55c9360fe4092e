"""predictions.npz: each run's predicted class for every validation and test example.

What a run got right, example by example, is the evidence a report needs to test two single
runs on the same images (McNemar) and to tell how much of the seed-to-seed spread the finite
test set explains (report/evidence.py). Stored beside results.json as `predictions.npz`:
`val_pred`, `val_label`, `test_pred`, `test_label`, each a 1-D array in the data loader's order,
uint8 for up to 256 classes (uint16 above). 10,000 test examples cost 20 kB before compression;
the labels travel with the predictions, so a reader knows whether two runs saw the same examples.
Written from the best epoch's final validation and test (run/train.py), once per run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

FILE = "predictions.npz"
SPLITS = ("val", "test")


def write(run_dir: Path, predicted: dict) -> Optional[Path]:
    """predicted: split -> (predicted classes, labels) as tensors or arrays; both splits needed, else
    nothing is written (a run that never validated or tested has no per-example evidence)."""
    if not all(s in predicted for s in SPLITS):
        return None
    arrays = {}
    for split in SPLITS:
        pred, label = (np.asarray(t.numpy() if hasattr(t, "numpy") else t) for t in predicted[split])
        dtype = np.uint8 if max(int(pred.max(initial=0)), int(label.max(initial=0))) < 256 else np.uint16
        arrays[f"{split}_pred"], arrays[f"{split}_label"] = pred.astype(dtype), label.astype(dtype)
    path = Path(run_dir) / FILE
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)  # atomic: a reader never sees half a file
    return path


def read(run_dir: Path, split: str) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(predicted, labels) of one split, or None for a run without the file (older runs) or the split."""
    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            return data[f"{split}_pred"].astype(np.int64), data[f"{split}_label"].astype(np.int64)
    except (OSError, KeyError, ValueError):
        return None
