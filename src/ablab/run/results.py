"""results.json: the contract between a run, the reports and the user (see DESIGN.md)."""
import json
import math
from pathlib import Path

from ablab.paths import atomic_write

# A split's scalars, in the order results.json lists them, before per_class_acc and shots.
SCALAR_KEYS = ("loss", "acc", "precision_micro", "precision_macro", "recall_micro", "recall_macro",
               "f1_micro", "f1_macro")


def write_json(path: Path, data: dict) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    with atomic_write(path) as f:
        f.write((json.dumps(_plain(data), indent=2) + "\n").encode())


def split_record(evaluation, datamodule) -> dict:
    """One split's entry of results.json (or eval.json) from its `Evaluation`: the scalars,
    per-class accuracy and, for long-tailed training data, the shot groups' accuracy."""
    from ablab.metrics.shot_accuracy import split_shots

    out = {k: evaluation.scalars[k] for k in SCALAR_KEYS if k in evaluation.scalars}
    out["per_class_acc"] = list(evaluation.per_class_acc)
    shots = split_shots(evaluation, datamodule)
    if shots is not None:
        out["shots"] = shots
    return out


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; a missing number is null
    return value
