"""results.json: the contract between a run, the reports and the user (see DESIGN.md)."""
import json
import math
import os
from pathlib import Path

SPLIT_KEYS = ("loss", "acc", "precision_micro", "precision_macro", "recall_micro",
              "recall_macro", "f1_micro", "f1_macro", "per_class_acc", "shots")


def write_json(path: Path, data: dict) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(_plain(data), indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:  # a full disk: leave no half-written temporary file behind
        tmp.unlink(missing_ok=True)
        raise


def split_results(results: dict) -> dict:
    return {k: results[k] for k in SPLIT_KEYS if k in results}


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; a missing number is null
    return value
