"""Batches as index slices of tensors that already sit on the training device.

This replaces a DataLoader for data held in memory: no workers, no per-sample
collation, no host-to-device copy per batch. Each epoch draws its order from the
sampler with a generator seeded by (seed, epoch), so runs repeat exactly and every
DDP rank sees the same order before taking its own shard. The epoch is the trainer's
(`epoch_source`) when there is one, so a run resumed in a new process at epoch k draws
epoch k's order, not epoch 0's; without one the loader counts the epochs it was iterated.
"""
from collections.abc import Callable

import torch

from ablab.data.batch import Batch
from ablab.seeds import seed_of


class TensorBatches:
    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        order: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        epoch_source: Callable[[], int] | None = None,
    ):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.order, self.seed, self.drop_last = order, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch, self.epoch_source = 0, epoch_source

    def _start_epoch(self) -> torch.Tensor:
        """This epoch's indices; called once as each epoch's iterator starts."""
        if self.epoch_source is not None:
            self.epoch = self.epoch_source()
        indices = self._indices()
        self.epoch += 1
        return indices

    def _indices(self) -> torch.Tensor:
        if self.order is None:
            indices = torch.arange(len(self.y), device=self.y.device)
        else:
            generator = torch.Generator(device=self.y.device).manual_seed(seed_of("order", self.seed, self.epoch))
            indices = self.order(self.y, generator)
        if self.world_size > 1:  # equal shards, so every rank runs the same number of steps
            per_rank = len(indices) // self.world_size
            indices = indices[self.rank * per_rank:(self.rank + 1) * per_rank]
        return indices

    def _num_samples(self) -> int:
        return len(self.y) // self.world_size if self.world_size > 1 else len(self.y)

    def __len__(self) -> int:
        n = self._num_samples()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        indices = self._start_epoch()
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(indices)), self.batch_size):
            batch = indices[start:start + self.batch_size]
            yield Batch(rows(self.x, batch), rows(self.y, batch))


def rows(t: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """t[indices] along the first dim. index_select copies whole rows where t[indices] copies
    element by element: a 128-image uint8 MNIST batch takes 10 us instead of 76 us on a CPU."""
    return t.index_select(0, indices)
