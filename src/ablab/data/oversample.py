"""Augment for the tail: oversample every smaller class up to the largest, and vary the copies.

The CIFAR study's remedy for a long tail: copy minority-class images until each class has
as many as the majority, flipping the copies and adding Gaussian noise so the duplicates
are not identical. Here the copies are drawn afresh each epoch and varied per draw on the
device, so no copy is ever stored and no two draws of one image look the same:

- `copies_to_largest` is a sampler (`(labels, generator) -> indices`) whose epoch is
  every training image once plus, for each class, `max(n) - n_c` extra draws of its
  images; an extra draw is marked by adding `len(labels)` to its index.
- `OversampledBatches` slices batches off that epoch and yields `Batch(x, y, is_copy)`.
- `CopyAugment` flips (half of the time) and adds noise to the copies of a float batch in
  [0, 1]; `Preprocess` calls it before any other augmentation.
Validation and test batches never pass through here.
"""
import torch

from ablab.data.batch import Batch
from ablab.data.loader import TensorBatches, rows
from ablab.data.ranks import group_by_class


def copies_to_largest(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One epoch: every index once, plus copies (index + len(labels)) that fill each class to the largest.

    The copies of a class cycle through its images in a fresh random order, so every image
    is copied floor or ceil of (extra / n_c) times rather than some many times and others never.
    """
    n, device = len(labels), labels.device
    by_class, starts, counts = group_by_class(labels, generator)  # random order within a class
    extra = torch.where(counts > 0, counts.max() - counts, torch.zeros_like(counts))
    cls = torch.repeat_interleave(torch.arange(len(counts), device=device), extra)
    rank = torch.arange(len(cls), device=device) - (torch.cumsum(extra, 0) - extra)[cls]
    copy_indices = by_class[starts[cls] + rank % counts[cls]] + n
    epoch = torch.cat([torch.arange(n, device=device), copy_indices])
    return epoch[torch.randperm(len(epoch), generator=generator, device=device)]


def balanced_size(labels: torch.Tensor) -> int:
    """Images in an oversampled epoch: the largest class's count times the classes present."""
    counts = torch.bincount(labels)
    return int(counts.max()) * int((counts > 0).sum()) if len(labels) else 0


class OversampledBatches(TensorBatches):
    """TensorBatches over `copies_to_largest` epochs, yielding `Batch(x, y, is_copy)`."""

    def __init__(self, x, y, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1, epoch_source=None):
        super().__init__(x, y, batch_size, copies_to_largest, seed=seed, rank=rank, world_size=world_size,
                         epoch_source=epoch_source)
        self.size = balanced_size(y)

    def _num_samples(self) -> int:
        return self.size // self.world_size

    def __iter__(self):
        indices = self._start_epoch()
        n = len(self.y)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            batch = indices[start:start + self.batch_size]
            is_copy = batch >= n
            batch = torch.where(is_copy, batch - n, batch)
            yield Batch(rows(self.x, batch), rows(self.y, batch), is_copy)


class CopyAugment:
    """Random horizontal flip (p = 0.5) and Gaussian noise of `noise_std`, on the copies only."""

    def __init__(self, noise_std: float = 0.05, flip: bool = True):
        self.noise_std, self.flip = float(noise_std), bool(flip)

    def __call__(self, x: torch.Tensor, is_copy: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        copy = is_copy.to(x.device)[:, None, None, None]
        if self.flip:
            flip = torch.rand(len(x), generator=generator, device=x.device)[:, None, None, None] < 0.5
            x = torch.where(copy & flip, x.flip(3), x)
        if self.noise_std > 0:
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) * self.noise_std
            x = torch.where(copy, (x + noise).clamp_(0, 1), x)
        return x

    def __repr__(self) -> str:
        return f"CopyAugment(noise_std={self.noise_std}, flip={self.flip})"
