"""The one shape of a batch, from every batch source to the network."""
from typing import NamedTuple

import torch


class Batch(NamedTuple):
    """Images, labels and, in oversampled training batches, which images are extra draws.

    The batch sources (ablab.data.batch_source) yield uint8 images; after `Preprocess` (run in
    the LightningModule's on_after_batch_transfer) `x` holds the normalised floats the
    network takes and `is_copy` has done its work (None).
    """

    x: torch.Tensor
    y: torch.Tensor
    is_copy: torch.Tensor | None = None


def collate(samples) -> Batch:
    """DataLoader collate_fn of the streamed source: (image, label) samples into one Batch."""
    from torch.utils.data import default_collate

    x, y = default_collate(samples)
    return Batch(x, y)
