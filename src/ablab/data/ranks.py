"""Where each sample stands among the samples of its class: one idiom, used by every caller.

Stratified splits, long-tail selection, oversampling, class-weighted samplers and the
figures' "classes in turn" grids all need the indices grouped class by class, or each
sample's position inside its class. With a generator the order inside a class is a
seeded random one (shuffle, then stable-sort by class), so "rank < k" keeps a random k
per class; without one it is the order of appearance.
"""
import torch


def group_by_class(
    labels: torch.Tensor, generator: torch.Generator | None = None, num_classes: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(order, starts, counts): class c's indices are order[starts[c] : starts[c] + counts[c]].

    The generator is consumed by exactly one `randperm` on the labels' device, so a caller
    that draws more from it afterwards sees the same stream as before this helper existed.
    """
    counts = torch.bincount(labels, minlength=num_classes)
    if generator is None:
        order = torch.argsort(labels, stable=True)
    else:
        perm = torch.randperm(len(labels), generator=generator, device=labels.device)
        order = perm[torch.argsort(labels[perm], stable=True)]
    return order, torch.cumsum(counts, 0) - counts, counts


def rank_within_class(labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """For every sample, its rank 0..n_c-1 among the samples of its class.

    Without a generator: how many earlier samples have the same class (0 for a class's
    first). With one: a seeded random rank, so `rank < k` picks a random k of each class.
    """
    order, starts, _ = group_by_class(labels, generator)
    rank = torch.empty(len(labels), dtype=torch.int64, device=labels.device)
    rank[order] = torch.arange(len(labels), device=labels.device) - starts[labels[order]]
    return rank


def classes_in_turn(labels: torch.Tensor, n: int, num_classes: int) -> torch.Tensor:
    """Indices of up to `n` samples taking the classes in turn: each class's first, then its second, ...

    Image folders list their files class by class, so the first n images of a split are often
    one class only; a grid of those checks nothing about the labels.
    """
    labels = labels.long()
    return torch.argsort(rank_within_class(labels) * num_classes + labels, stable=True)[:n]
