"""Accuracy of class groups in long-tailed runs, from per-class accuracy.

`shot_groups` is the many/medium/few-shot split of Liu et al. 2019 (OLTR), by the
number of training images per class; `head_tail` is for step profiles, where the
reduced classes are the tail. Groups with no classes are left out of the result.
"""
import math
from collections.abc import Iterable, Sequence


def _mean(values: list[float]) -> float | None:
    # A class missing from the evaluated split has accuracy NaN; it says nothing.
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else None


def _groups(named: dict[str, list[float]]) -> dict[str, float]:
    means = {name: _mean(accs) for name, accs in named.items()}
    return {name: m for name, m in means.items() if m is not None}


def _floats(xs) -> list[float]:
    return [float(x) for x in (xs.tolist() if hasattr(xs, "tolist") else xs)]


def shot_groups(train_counts: Sequence[int], per_class_acc: Sequence[float],
                many: int = 100, few: int = 20) -> dict[str, float]:
    """Mean per-class accuracy of many- (> many), medium- (few..many) and few-shot (< few) classes."""
    counts, acc = _floats(train_counts), _floats(per_class_acc)
    if len(counts) != len(acc):
        raise ValueError(f"{len(counts)} class counts but {len(acc)} per-class accuracies")
    if few > many:
        raise ValueError(f"shot thresholds few={few} > many={many}")
    return _groups({
        "many": [a for n, a in zip(counts, acc) if n > many],
        "medium": [a for n, a in zip(counts, acc) if few <= n <= many],
        "few": [a for n, a in zip(counts, acc) if n < few],
    })


def head_tail(per_class_acc: Sequence[float], tail_classes: Iterable[int]) -> dict[str, float]:
    """Mean per-class accuracy of the tail classes and of all the others (the head)."""
    acc = _floats(per_class_acc)
    tail = {int(c) for c in tail_classes}
    if bad := sorted(c for c in tail if not 0 <= c < len(acc)):
        raise ValueError(f"tail classes {bad} are not in 0..{len(acc) - 1}")
    return _groups({
        "head": [a for c, a in enumerate(acc) if c not in tail],
        "tail": [a for c, a in enumerate(acc) if c in tail],
    })
