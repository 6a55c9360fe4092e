"""Long-tailed training sets: how many images each class keeps, and which ones.

Only the training split is reshaped (validation and test stay balanced); the core
calls `select_longtail` on the training labels and keeps the returned indices.
Profiles:
- `none`: every image.
- `step`: the listed `classes` keep `fraction` of their images, the others all.
- `exponential`: class i keeps n_max * ratio^(-i/(C-1)) images, class 0 the head
  (CIFAR-10/100-LT, Cui et al. 2019 and Cao et al. 2019).
"""
from collections.abc import Sequence

import torch

from ablab.data.ranks import rank_within_class
from ablab.schema.data import PROFILES


def longtail_counts(class_counts: Sequence[int], profile: str, **kw) -> list[int]:
    """Images each class keeps under `profile`; a class never keeps more than it has."""
    counts = [int(n) for n in class_counts]
    if profile == "none":
        _no_extra(profile, kw)
        return counts
    if profile == "step":
        return _step(counts, **kw)
    if profile == "exponential":
        return _exponential(counts, **kw)
    raise ValueError(f"long-tail profile {profile!r} is not one of {', '.join(PROFILES)}")


def _step(counts: list[int], classes: Sequence[int] | None = None, fraction: float = 0.1) -> list[int]:
    if classes is None:
        raise ValueError("long-tail profile 'step' needs `classes`, the list of reduced classes")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"long-tail step fraction={fraction} must be in [0, 1]")
    reduced = {int(c) for c in classes}
    if bad := sorted(c for c in reduced if not 0 <= c < len(counts)):
        raise ValueError(f"long-tail step classes {bad} are not in 0..{len(counts) - 1}")
    return [int(n * fraction) if c in reduced else n for c, n in enumerate(counts)]


def _exponential(counts: list[int], ratio: float = 100.0, n_max: int | None = None) -> list[int]:
    if ratio < 1:
        raise ValueError(f"long-tail exponential ratio={ratio} must be >= 1 (head / tail size)")
    C = len(counts)
    head = counts[0] if n_max is None else min(int(n_max), counts[0])
    if C == 1:
        return [head]
    # Written as (1/ratio)^(i/(C-1)) and truncated with int(), exactly as Cao et al.'s
    # imbalance_cifar.py, so CIFAR-10-LT gets the published [5000, 2997, ..., 50].
    return [min(n, int(head * (1.0 / ratio) ** (i / (C - 1)))) for i, n in enumerate(counts)]


def _no_extra(profile: str, kw: dict) -> None:
    if kw:
        raise ValueError(f"long-tail profile {profile!r} takes no options, got {sorted(kw)}")


def select_longtail(labels: torch.Tensor, num_classes: int, seed: int, profile: str, **kw) -> torch.Tensor:
    """Sorted indices into `labels` of the images a long-tailed training set keeps.

    Which images a class keeps is a seeded random choice (not the first n), drawn on
    the CPU so that the same seed gives the same subset on every device.
    """
    device = labels.device
    y = labels.detach().to("cpu", torch.int64)
    have = torch.bincount(y, minlength=num_classes)
    if len(have) > num_classes:
        raise ValueError(f"labels go up to {len(have) - 1} but num_classes={num_classes}")
    keep = torch.tensor(longtail_counts(have.tolist(), profile, **kw), dtype=torch.int64)
    # A seeded random rank inside each class, so "rank < keep[class]" is a random subset.
    rank = rank_within_class(y, torch.Generator().manual_seed(int(seed)))
    return torch.nonzero(rank < keep[y]).flatten().to(device)
