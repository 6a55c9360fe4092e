"""Which training indices one epoch visits, in which order.

A sampler is a callable `(labels, generator) -> indices`: given the training labels
(1-D int64 tensor on the data's device) it returns one epoch of indices into them.
The batch loader slices batches off that tensor, so a sampler never touches images.
"""
import torch


class Shuffle:
    """Every training image once per epoch, in a fresh random order (sampler=none)."""

    def __call__(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.randperm(len(labels), generator=generator, device=generator.device)
