"""The three batch sources behind one call, each yielding `Batch`es of uint8 images:

- in memory: index slices of the split's tensors on the training device (TensorBatches),
  in the sampler's order seeded by (seed, epoch);
- oversampled: the same, over epochs that copy the smaller classes up to the largest
  (OversampledBatches; the batch marks its copies in `is_copy`);
- streamed: a DataLoader reading the split from disk per sample (data.in_memory=false).
"""
from collections.abc import Callable

import torch
from torch.utils.data import DataLoader

from ablab.data.batch import collate
from ablab.data.loader import TensorBatches
from ablab.data.oversample import OversampledBatches
from ablab.data.splits import Split


def batch_source(split: Split, batch_size: int, device: torch.device, train: bool, order: Callable | None = None,
                 oversample: bool = False, seed: int = 0, rank: int = 0, world_size: int = 1,
                 epoch_source: Callable[[], int] | None = None, num_workers: int = 0):
    """Batches of one split: training ones in `order` (a sampler) or oversampled, sharded over
    DDP ranks; evaluation ones in the split's own order, whole on every rank."""
    if split.streamed:
        return DataLoader(split.x, batch_size=batch_size, shuffle=train, num_workers=num_workers,
                          persistent_workers=num_workers > 0, collate_fn=collate)
    x, y = split.on(device)
    if not train:
        return TensorBatches(x, y, batch_size)
    if oversample:
        return OversampledBatches(x, y, batch_size, seed=seed, rank=rank, world_size=world_size,
                                  epoch_source=epoch_source)
    return TensorBatches(x, y, batch_size, order, seed=seed, rank=rank, world_size=world_size,
                         epoch_source=epoch_source)
