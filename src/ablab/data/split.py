"""Stratified, seeded splits of a label vector: hold-out fractions and k folds."""
import torch


def _rank_within_class(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random rank 0..n_c-1 for every sample among the samples of its class."""
    perm = torch.randperm(len(labels), generator=generator)
    order = perm[torch.sort(labels[perm], stable=True).indices]  # grouped by class, random inside
    sorted_labels = labels[order]
    starts = torch.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = torch.empty_like(labels)
    rank[order] = torch.arange(len(labels)) - starts
    return rank


def stratified_holdout(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held) indices; each class gives round(fraction * n_c) samples to `held`."""
    labels = labels.cpu()
    rank = _rank_within_class(labels, torch.Generator().manual_seed(seed))
    counts = torch.bincount(labels)
    held_per_class = torch.round(counts.double() * fraction).long()
    held = rank < held_per_class[labels]
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()


def stratified_fold(labels: torch.Tensor, folds: int, fold: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val) indices of fold `fold` of `folds`: every class is dealt round-robin to folds."""
    labels = labels.cpu()
    rank = _rank_within_class(labels, torch.Generator().manual_seed(seed))
    held = rank % folds == fold
    return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()
