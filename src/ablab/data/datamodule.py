"""One LightningDataModule for every image dataset: it serves batches, and the facts about them.

The source gives uint8 images and labels (cached once decoded); `setup` splits them
(ablab.data.splits) and cuts the long tail off train when asked; the loaders are the
batch sources of ablab.data.batch_source, every one yielding `Batch`es of uint8 images,
already on the training device when the data is held in memory. Turning them into the
network's floats is `preprocess`'s work, done by the LightningModule.
"""
from collections.abc import Callable
from functools import cached_property

import pytorch_lightning as pl
import torch

from ablab.data.batch_source import batch_source
from ablab.data.cache import load_cached
from ablab.data.longtail_options import parse as parse_longtail
from ablab.data.preprocess import Preprocess, channel_stats
from ablab.data.sampling import Shuffle
from ablab.data.sources import DecodedDataset
from ablab.data.splits import Split, make_splits, refuse_too_few
from ablab.seeds import seed_of


class ImageDataModule(pl.LightningDataModule):
    def __init__(
        self,
        name: str,
        source: Callable[..., DecodedDataset],
        root: str,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        batch_size: int = 128,
        eval_batch_size: int = 128,
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
        self.declared_stats = (mean, std) if mean is not None and std is not None else None  # else measured
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.folds, self.fold, self.seed = folds, fold, seed
        self.longtail, self.augment, self.sampler = longtail, augment, sampler or Shuffle()
        self.cache, self.in_memory, self.num_workers = cache, in_memory, num_workers
        self.longtail_options = None  # `longtail` parsed and checked (a LongTail), set in setup
        self.splits: dict[str, Split] | None = None

    # ---- loading and splitting (once per process) ----
    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:
            return
        decoded = self._load()
        self.classes = decoded.classes
        splits = make_splits(decoded, self.val_fraction, self.test_fraction, self.folds, self.fold, self.seed)
        refuse_too_few(f"{self.name} ({self.root})", self.classes, splits,
                       f"data.val_fraction={self.val_fraction}, data.test_fraction={self.test_fraction}, "
                       f"data.folds={self.folds}")
        if self.longtail:
            from ablab.data.longtail_subset import select_longtail

            train = splits["train"]
            self.longtail_options = parse_longtail(self.longtail, len(self.classes))
            splits["train"] = train.take(select_longtail(train.y, len(self.classes), seed_of("longtail", self.seed),
                                                         **self.longtail_options.selection))
        self.splits = splits
        self.input_shape = splits["train"].image_shape
        self.train_counts = splits["train"].counts(len(self.classes))

    def _load(self) -> DecodedDataset:
        if not (self.cache and self.in_memory):
            return self.source(root=self.root)
        options = {k: v for k, v in getattr(self.source, "keywords", {}).items()}
        target = getattr(getattr(self.source, "func", self.source), "__qualname__", self.name)
        return load_cached(self.name, self.root, {"source": target, **options}, lambda: self.source(root=self.root))

    # ---- facts the model, the figures and the reports need ----
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @cached_property
    def preprocess(self) -> Preprocess:
        """What turns these batches into the network's input (after setup): the declared channel
        statistics or those of the training images, the augmentation and the tail's copies."""
        mean, std = self.declared_stats or channel_stats(self.splits["train"].x)
        copies = self.longtail_options.oversample if self.longtail_options is not None else None
        return Preprocess(list(self.classes), tuple(self.input_shape), list(mean), list(std), self.augment, copies,
                          self.seed)

    def train_images(self, indices: torch.Tensor) -> torch.Tensor:
        """uint8 training images at `indices`, on the CPU, held in memory or read from disk."""
        return self.splits["train"].images(indices)

    @property
    def train_y(self) -> torch.Tensor:
        return self.splits["train"].y

    # ---- batches ----
    def _loader(self, name: str, batch_size: int, train: bool):
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        oversample = train and self.longtail_options is not None and self.longtail_options.oversample is not None
        return batch_source(self.splits[name], batch_size, device, train, order=self.sampler, oversample=oversample,
                            seed=self.seed, rank=rank, world_size=world,
                            # a resumed run's order is its epoch's, not epoch 0's
                            epoch_source=self._epoch if trainer is not None else None,
                            num_workers=self.num_workers)

    def _epoch(self) -> int:
        return self.trainer.current_epoch

    def train_dataloader(self):
        return self._loader("train", self.batch_size, train=True)

    def val_dataloader(self):
        return self._loader("val", self.eval_batch_size, train=False)

    def test_dataloader(self):
        return self._loader("test", self.eval_batch_size, train=False)

    def transfer_batch_to_device(self, batch, device, dataloader_idx: int):
        if all(t is None or (isinstance(t, torch.Tensor) and t.device == device) for t in batch):
            return batch  # slices of tensors already on the device: nothing to move
        return super().transfer_batch_to_device(batch, device, dataloader_idx)
