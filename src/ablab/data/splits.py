"""A dataset's splits: validation (and test, when the source ships none) split off train,
stratified and seeded or as k folds; the long tail cut from train only.

A `Split` is uint8 images and int64 labels: one tensor in memory, or a Dataset of
(image, label) read from disk per sample (data.in_memory=false).
"""
from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset, Subset

from ablab.data.stratified import stratified_fold, stratified_holdout
from ablab.data.sources import DecodedDataset
from ablab.errors import DataError
from ablab.seeds import seed_of


@dataclass
class Split:
    x: torch.Tensor | Dataset
    y: torch.Tensor
    _on_device: dict = field(default_factory=dict, repr=False)

    def __iter__(self):  # x, y = split
        return iter((self.x, self.y))

    @property
    def streamed(self) -> bool:
        return not isinstance(self.x, torch.Tensor)

    def take(self, indices: torch.Tensor) -> "Split":
        x = Subset(self.x, indices.tolist()) if self.streamed else self.x[indices]
        return Split(x, self.y[indices])

    def on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The images and labels on `device`, copied there once."""
        if device not in self._on_device:
            self._on_device.clear()  # one device at a time: the old copy is not kept alive
            self._on_device[device] = (self.x.to(device), self.y.to(device))
        return self._on_device[device]

    def images(self, indices: torch.Tensor) -> torch.Tensor:
        """uint8 images at `indices`, on the CPU, from memory or from disk."""
        if self.streamed:
            return torch.stack([self.x[i][0] for i in indices.tolist()])
        return self.x[indices.to(self.x.device)].cpu()

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple((self.x[0][0] if self.streamed else self.x[0]).shape)

    def counts(self, num_classes: int) -> list[int]:
        return torch.bincount(self.y, minlength=num_classes).tolist()


def make_splits(decoded: DecodedDataset, val_fraction: float, test_fraction: float, folds: int, fold: int,
                seed: int) -> dict[str, Split]:
    """train, val and test. Test is the source's own, else held out of train first (when
    test_fraction > 0), else the validation split; validation is the source's own unless
    k folds are asked for, else held out of (what is left of) train."""
    splits = {"train": Split(decoded.train_x, decoded.train_y)}
    if decoded.test_x is not None:
        splits["test"] = Split(decoded.test_x, decoded.test_y)
    elif test_fraction > 0:
        splits["train"], splits["test"] = _holdout(splits["train"], test_fraction, seed_of("split.test", seed))
    if decoded.val_x is not None and folds <= 1:
        splits["val"] = Split(decoded.val_x, decoded.val_y)
    elif folds > 1:
        train, val = stratified_fold(splits["train"].y, folds, fold, seed_of("split.fold", seed))
        splits["train"], splits["val"] = splits["train"].take(train), splits["train"].take(val)
    else:
        splits["train"], splits["val"] = _holdout(splits["train"], val_fraction, seed_of("split.val", seed))
    splits.setdefault("test", splits["val"])  # test_fraction=0 and no test split: test on val
    return splits


def _holdout(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    kept, held = stratified_holdout(split.y, fraction, seed)
    return split.take(kept), split.take(held)


def refuse_too_few(where: str, classes: list[str], splits: dict[str, Split], asked: str) -> None:
    """Before anything trains: at least two classes, and images of every class in each split."""
    if len(classes) < 2:
        raise DataError(f"{where} has {len(classes)} class ({', '.join(classes)}); "
                        "a classifier needs at least 2 class folders")
    for name, split in splits.items():
        counts = torch.bincount(split.y, minlength=len(classes))
        if (counts == 0).any():
            empty = [classes[i] for i in torch.nonzero(counts == 0).flatten().tolist()]
            raise DataError(f"{where}: the {name} split has no images of class {', '.join(empty[:5])}: too few "
                            f"images per class for {asked}; add images or change the fractions")
