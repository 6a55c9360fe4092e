"""What the network sees: uint8 images turned into normalised floats, augmented in training.

One `Preprocess` per run holds everything that decides a network's input and the meaning
of its output: the class names, the image shape, the channel mean/std, the training
augmentation and the flip + noise of a long tail's oversampled copies. The data module
builds it from its config and training split (`ImageDataModule.preprocess`); the
LightningModule applies it, in one place (`Classifier.on_after_batch_transfer`); the
checkpoint keeps it as plain data (`to_dict`), and eval and predict rebuild it
(`from_dict`), so a trained network is always fed what it was trained on.
"""
import importlib
from dataclasses import dataclass, field

import torch

from ablab.data.batch import Batch
from ablab.seeds import seed_of


@dataclass
class Preprocess:
    classes: list[str]
    input_shape: tuple[int, int, int]
    mean: list[float]
    std: list[float]
    augment: object | None = None  # `(x, generator) -> x` on floats in [0, 1], training batches only
    copies: object | None = None  # `(x, is_copy, generator) -> x` (data.oversample.CopyAugment)
    seed: int = 0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ---- applying it ----
    def __call__(self, batch: Batch, training: bool = False, epoch: int = 0) -> Batch:
        x, y, is_copy = batch
        if x.dtype == torch.uint8 and not (training and (self.augment is not None or is_copy is not None)):
            scale, shift = self._affine(x.device)  # (x / 255 - mean) / std in one pass
            return Batch(x.float().mul_(scale).add_(shift), y)
        x = x.float().div_(255) if x.dtype == torch.uint8 else x
        if training and is_copy is not None:  # flip and noise on the copies: no two draws of an image alike
            x = self.copies(x, is_copy, self._generator(x.device, epoch))
        if training and self.augment is not None:
            x = self.augment(x, self._generator(x.device, epoch))
        mean, std = self._stats(x.device)
        return Batch((x - mean) / std, y)

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised floats of uint8 (N, C, H, W) images, as in evaluation (predict.py)."""
        return self(Batch(x, x.new_zeros(len(x)))).x

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Back to [0, 1] for pictures of what the network saw."""
        mean, std = self._stats(x.device)
        return (x * std + mean).clamp(0, 1)

    def _stats(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        key = ("stats", device)
        if key not in self._cache:
            mean = torch.as_tensor(self.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            std = torch.as_tensor(self.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            self._cache[key] = (mean, std)
        return self._cache[key]

    def _affine(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        key = ("affine", device)
        if key not in self._cache:
            mean, std = self._stats(device)
            self._cache[key] = (1 / (255 * std), -mean / std)
        return self._cache[key]

    def _generator(self, device, epoch: int) -> torch.Generator:
        # Seeded by (seed, epoch), not once per process: a run resumed at epoch k draws epoch k's
        # flips and crops, and nothing needs saving (a CUDA generator's state fits no CPU resume).
        key = ("generator", device)
        if self._cache.get(key, (None,))[0] != epoch:
            generator = torch.Generator(device=device).manual_seed(seed_of("augment", self.seed, epoch))
            self._cache[key] = (epoch, generator)
        return self._cache[key][1]

    # ---- as plain data in a checkpoint ----
    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "input_shape": list(self.input_shape), "mean": list(self.mean),
                "std": list(self.std), "augment": _plain(self.augment), "copies": _plain(self.copies),
                "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        return cls(classes=list(d["classes"]), input_shape=tuple(d["input_shape"]), mean=list(d["mean"]),
                   std=list(d["std"]), augment=_object(d.get("augment")), copies=_object(d.get("copies")),
                   seed=int(d.get("seed", 0)))


def _plain(obj) -> dict | None:
    """An augmentation as its class path and constructor arguments (its attributes)."""
    if obj is None:
        return None
    cls = type(obj)
    return {"_target_": f"{cls.__module__}.{cls.__qualname__}",
            **{k: list(v) if isinstance(v, tuple) else v for k, v in vars(obj).items()}}


def _object(spec: dict | None):
    if spec is None:
        return None
    spec = dict(spec)
    module, _, name = spec.pop("_target_").rpartition(".")
    return getattr(importlib.import_module(module), name)(**spec)


def channel_stats(x, streamed_sample: int = 2000) -> tuple[list[float], list[float]]:
    """Per-channel mean/std of uint8 training images, computed in chunks (no float copy of the set).
    From disk (a Dataset of (image, label)), `streamed_sample` images spread evenly over the
    set: a folder lists its images class by class, so the first ones would be the first classes only."""
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
