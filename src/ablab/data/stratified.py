"""Stratified, seeded splits of a label vector: hold-out fractions and k folds."""
import torch

from ablab.data.ranks import rank_within_class


def stratified_holdout(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held) indices; each class gives round(fraction * n_c) samples to `held`."""
    labels = labels.cpu()
    rank = rank_within_class(labels, torch.Generator().manual_seed(seed))
    counts = torch.bincount(labels)
    held_per_class = torch.round(counts.double() * fraction).long()
    held = rank < held_per_class[labels]
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()


def stratified_fold(labels: torch.Tensor, folds: int, fold: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val) indices of fold `fold` of `folds`: every class is dealt round-robin to folds."""
    labels = labels.cpu()
    rank = rank_within_class(labels, torch.Generator().manual_seed(seed))
    held = rank % folds == fold
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()
