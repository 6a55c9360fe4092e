"""The data of a fused group: each member's own data module, their batches zipped.

Members may differ in seed and fold, so each keeps its own loaders (its own order and
augmentation stream); a step takes one batch from each. The launcher groups only members
whose splits have equal sizes, so every member takes the same number of equal-sized batches.
"""
from typing import NamedTuple

import pytorch_lightning as pl
import torch

from ablab.data.batch import Batch


class Stacked(NamedTuple):
    """The members' batches of a step as one, preprocessed: x [K, B, ...], y [K, B]. A tuple, as
    Lightning expects a batch to be (it looks for the batch size in it)."""

    x: torch.Tensor
    y: torch.Tensor
    parts: list  # each member's batch, made on first asking (`of`)

    @classmethod
    def make(cls, x: torch.Tensor, y: torch.Tensor) -> "Stacked":
        return cls(x, y, [])

    def of(self, k: int) -> Batch:
        """Member k's batch, as its run's callbacks get it (the views are made once per step, for
        all members: a step's hooks ask for them K times each)."""
        if not self.parts:
            self.parts.extend(Batch(x, y) for x, y in zip(self.x.unbind(0), self.y.unbind(0)))
        return self.parts[k]


class Zipped:
    def __init__(self, loaders: list):
        self.loaders = loaders

    def __len__(self) -> int:
        return len(self.loaders[0])

    def __iter__(self):
        return (list(batches) for batches in zip(*self.loaders))


class FusedData(pl.LightningDataModule):
    def __init__(self, members: list):
        super().__init__()
        self.members = members

    def setup(self, stage: str | None = None) -> None:
        for dm in self.members:
            dm.trainer = self.trainer  # batches on the group's device, ordered by the group's epoch
            dm.setup(stage)

    def train_dataloader(self):
        return Zipped([dm.train_dataloader() for dm in self.members])

    def val_dataloader(self):
        return Zipped([dm.val_dataloader() for dm in self.members])

    def test_dataloader(self):
        return Zipped([dm.test_dataloader() for dm in self.members])

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        return [dm.transfer_batch_to_device(b, device, dataloader_idx) for dm, b in zip(self.members, batch)]
