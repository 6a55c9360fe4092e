"""One LightningDataModule for every image dataset: sources differ, the rest is shared.

The source gives uint8 images and labels; this module splits validation (stratified,
seeded, or k-fold) and, when the source has none, test off train; reshapes the training
split into a long tail when asked; keeps the tensors once on the training device; and
turns uint8 batches into normalised (and, in training, augmented) floats on the device
in `on_after_batch_transfer`.
"""
from collections.abc import Callable

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Subset

from ablab.data.cache import load_cached
from ablab.data.loader import TensorBatches
from ablab.data.longtail_options import parse as parse_longtail
from ablab.data.oversample import OversampledBatches
from ablab.data.sampling import Shuffle
from ablab.data.split import stratified_fold, stratified_holdout
from ablab.data.sources import DecodedDataset
from ablab.errors import DataError


class ImageDataModule(pl.LightningDataModule):
    def __init__(
        self,
        name: str,
        source: Callable[..., DecodedDataset],
        root: str,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        batch_size: int = 128,
        eval_batch_size: int = 1000,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        folds: int = 1,
        fold: int = 0,
        seed: int = 0,
        longtail: dict | None = None,
        augment: Callable | None = None,
        sampler: Callable | None = None,
        cache: bool = True,
        in_memory: bool = True,
        num_workers: int = 0,
    ):
        super().__init__()
        self.name, self.source, self.root = name, source, root
        self.mean, self.std = mean, std
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.folds, self.fold, self.seed = folds, fold, seed
        self.longtail, self.augment, self.sampler = longtail, augment, sampler or Shuffle()
        self.cache, self.in_memory, self.num_workers = cache, in_memory, num_workers
        self.longtail_options = None  # `longtail` parsed and checked (a LongTail), set in setup
        self.splits: dict[str, tuple] | None = None
        self._on_device: dict[str, tuple] = {}

    # ---- loading and splitting (once per process) ----
    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:
            return
        decoded = self._load()
        self.classes = decoded.classes
        splits = {"train": (decoded.train_x, decoded.train_y)}
        if decoded.test_x is None and self.test_fraction > 0:
            splits["train"], splits["test"] = self._holdout(splits["train"], self.test_fraction, salt=1)
        elif decoded.test_x is not None:
            splits["test"] = (decoded.test_x, decoded.test_y)
        if decoded.val_x is not None and self.folds <= 1:
            splits["val"] = (decoded.val_x, decoded.val_y)
        else:
            splits["train"], splits["val"] = self._validation(splits["train"])
        splits.setdefault("test", splits["val"])  # test_fraction=0 and no test split: test on val
        self._refuse_too_few(splits)
        if self.longtail:
            from ablab.data.longtail import select_longtail

            x, y = splits["train"]
            self.longtail_options = parse_longtail(self.longtail, len(self.classes), self.sampler,
                                       streamed=not isinstance(x, torch.Tensor))
            keep = select_longtail(y, len(self.classes), self.seed, **self.longtail_options.selection)
            splits["train"] = _take(x, y, keep)
        self.splits = splits
        self.input_shape = tuple(_first_image(splits["train"][0]).shape)
        self.train_counts = torch.bincount(splits["train"][1], minlength=len(self.classes)).tolist()
        if self.mean is None or self.std is None:
            self.mean, self.std = _channel_stats(splits["train"][0])

    def _refuse_too_few(self, splits) -> None:
        """Before anything trains: at least two classes, and images of every class in each split."""
        where = f"{self.name} ({self.root})"
        if len(self.classes) < 2:
            raise DataError(f"{where} has {len(self.classes)} class ({', '.join(self.classes)}); "
                            "a classifier needs at least 2 class folders")
        for name, (_, y) in splits.items():
            counts = torch.bincount(y, minlength=len(self.classes))
            if (counts == 0).any():
                empty = [self.classes[i] for i in torch.nonzero(counts == 0).flatten().tolist()]
                raise DataError(f"{where}: the {name} split has no images of class {', '.join(empty[:5])}: too few "
                                f"images per class for data.val_fraction={self.val_fraction}, data.test_fraction="
                                f"{self.test_fraction}, data.folds={self.folds}; add images or change the fractions")

    def _load(self) -> DecodedDataset:
        if not (self.cache and self.in_memory):
            return self.source(root=self.root)
        options = {k: v for k, v in getattr(self.source, "keywords", {}).items()}
        target = getattr(getattr(self.source, "func", self.source), "__qualname__", self.name)
        return load_cached(self.name, self.root, {"source": target, **options}, lambda: self.source(root=self.root))

    def _holdout(self, split, fraction, salt=0):
        x, y = split
        kept, held = stratified_holdout(y, fraction, self.seed * 7919 + salt)
        return _take(x, y, kept), _take(x, y, held)

    def _validation(self, split):
        if self.folds > 1:
            x, y = split
            train, val = stratified_fold(y, self.folds, self.fold, self.seed)
            return _take(x, y, train), _take(x, y, val)
        return self._holdout(split, self.val_fraction)

    # ---- facts the model and the reports need ----
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    # ---- batches ----
    def _device(self) -> torch.device:
        return self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")

    def _split_on_device(self, name: str):
        device = self._device()
        if self._on_device.get(name, (None,))[0] != device:
            x, y = self.splits[name]
            self._on_device[name] = (device, x.to(device), y.to(device))
        return self._on_device[name][1:]

    def _loader(self, name: str, batch_size: int, train: bool):
        x, y = self.splits[name]
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        if not isinstance(x, torch.Tensor):  # per-sample path for data that does not fit in memory
            return DataLoader(x, batch_size=batch_size, shuffle=train, num_workers=self.num_workers,
                              persistent_workers=self.num_workers > 0)
        x, y = self._split_on_device(name)
        epoch = self._epoch if trainer is not None else None  # a resumed run's order is its epoch's
        oversample = self.longtail_options.oversample if self.longtail_options is not None else None
        if train and oversample is not None:  # augment for the tail
            return OversampledBatches(x, y, batch_size, seed=self.seed, rank=rank, world_size=world, epoch_source=epoch)
        order = self.sampler if train else None
        return TensorBatches(x, y, batch_size, order, seed=self.seed, rank=rank if train else 0,
                             world_size=world if train else 1, epoch_source=epoch if train else None)

    def train_dataloader(self):
        return self._loader("train", self.batch_size, train=True)

    def val_dataloader(self):
        return self._loader("val", self.eval_batch_size, train=False)

    def test_dataloader(self):
        return self._loader("test", self.eval_batch_size, train=False)

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        if all(isinstance(t, torch.Tensor) and t.device == device for t in batch):
            return batch  # slices of tensors already on the device: nothing to move
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        x, y = batch[0], batch[1]
        is_copy = batch[2] if len(batch) > 2 else None  # oversampled training batches mark their copies
        training = self.trainer is not None and self.trainer.training
        if x.dtype == torch.uint8 and is_copy is None and (self.augment is None or not training):
            scale, shift = self._uint8_affine(x.device)  # (x / 255 - mean) / std in one pass, in place
            return x.float().mul_(scale).add_(shift), y
        x = x.float().div_(255)
        if is_copy is not None:  # flip and noise on the copies, so no two draws of an image are alike
            x = self.longtail_options.oversample(x, is_copy, self._augment_generator(x.device))
        if self.augment is not None and self.trainer is not None and self.trainer.training:
            x = self.augment(x, self._augment_generator(x.device))
        return self.normalize(x), y

    def _epoch(self) -> int:
        return self.trainer.current_epoch if self.trainer is not None else 0

    def _augment_generator(self, device) -> torch.Generator:
        # Seeded by (seed, epoch), not once per process: a run resumed at epoch k draws epoch k's
        # flips and crops, and nothing needs saving (a CUDA generator's state fits no CPU resume).
        key = (device, self._epoch())
        if getattr(self, "_generator_key", None) != key:
            self._generator = torch.Generator(device=device).manual_seed((self.seed + 1) * 100_003 + key[1])
            self._generator_key = key
        return self._generator

    def _uint8_affine(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        if getattr(self, "_affine", (None,))[0] != device:
            mean = torch.as_tensor(self.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            std = torch.as_tensor(self.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            self._affine = (device, 1 / (255 * std), -mean / std)
        return self._affine[1:]

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.as_tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.as_tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x * std + mean).clamp(0, 1)

    @property
    def train_x(self) -> torch.Tensor:
        return self.splits["train"][0]

    def train_images(self, indices: torch.Tensor) -> torch.Tensor:
        """uint8 training images at `indices`, on the CPU, held in memory or read from disk."""
        x = self.train_x
        if isinstance(x, torch.Tensor):
            return x[indices.to(x.device)].cpu()
        return torch.stack([x[i][0] for i in indices.tolist()])

    @property
    def train_y(self) -> torch.Tensor:
        return self.splits["train"][1]


def _take(x, y, indices):
    if isinstance(x, torch.Tensor):
        return x[indices], y[indices]
    return Subset(x, indices.tolist()), y[indices]


def _first_image(x):
    return x[0] if isinstance(x, torch.Tensor) else x[0][0]


def _channel_stats(x, streamed_sample: int = 2000) -> tuple[list[float], list[float]]:
    """Per-channel mean/std of the training images, computed in chunks (no float copy of the set).
    From disk, `streamed_sample` images spread evenly over the set: a folder lists its images
    class by class, so the first ones would be the first classes only."""
    if not isinstance(x, torch.Tensor):
        picked = torch.linspace(0, len(x) - 1, min(len(x), streamed_sample)).round().long().unique()
        x = torch.stack([x[i][0] for i in picked.tolist()])
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    squares = torch.zeros_like(total)
    for chunk in x.split(4096):
        c = chunk.double().div(255)
        total += c.sum((0, 2, 3))
        squares += (c * c).sum((0, 2, 3))
    n = x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / n
    return mean.tolist(), (squares / n - mean**2).clamp_min(1e-12).sqrt().tolist()
