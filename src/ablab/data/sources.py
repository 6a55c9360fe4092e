"""Decoded images from torchvision's dataset classes (and IDX files, and image folders).

A source returns a `DecodedDataset`: uint8 images (N, C, H, W) with int64 labels for the
splits it has, plus the class names. Everything after that (validation split, long tail,
batching, augmentation) is shared code in the data module. Torchvision does the
reading and the downloading; this file only adapts its output to one layout and turns
its failures into one-line errors that say where it looked and what to place there.
"""
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.datasets.utils import extract_archive

from ablab.errors import DataError


@dataclass
class DecodedDataset:
    """A dataset as its files decode: the splits it ships (train always) and its class names."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    classes: list[str]
    test_x: torch.Tensor | None = None
    test_y: torch.Tensor | None = None
    val_x: torch.Tensor | None = None
    val_y: torch.Tensor | None = None


def _open(name: str, folder: str, files: list[str], make):
    """Build a torchvision dataset; on failure, say what is missing or which file is bad."""
    try:
        return make()
    except DataError:
        raise
    except Exception as exc:  # torchvision raises RuntimeError/URLError/pickle errors alike
        missing = [f for f in files if not os.path.exists(os.path.join(folder, f))]
        if missing:
            raise DataError(
                f"{name}: {', '.join(missing)} not found in {folder} and the download failed "
                f"({_reason(exc)}); place the files there or run once with network access"
            ) from None
        raise DataError(f"{name}: corrupt data file in {folder}: {_first_bad(folder, files) or exc}") from None


def _reason(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:160]


def _first_bad(folder: str, files: list[str]) -> str | None:
    for name in files:
        path = os.path.join(folder, name)
        try:
            if "idx" in name:
                read_image_file(path) if "images" in name else read_label_file(path)
            else:
                with open(path, "rb") as f:
                    pickle.load(f, encoding="latin1")
        except Exception as exc:
            return f"{path} ({type(exc).__name__})"
    return None


def _mnist_family(cls, name: str, root: str, download: bool, split: str | None = None) -> DecodedDataset:
    kwargs = {"split": split} if split else {}
    probe = cls.__new__(cls)
    probe.root, probe.split = root, split
    folder = probe.raw_folder
    if split:
        files = [f"emnist-{split}-{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
                 for part in ("train", "test") for kind in ("images", "labels")]
    else:
        files = [os.path.splitext(os.path.basename(url))[0] for url, _ in cls.resources]
    train = _open(name, folder, files, lambda: cls(root, train=True, download=download, **kwargs))
    test = _open(name, folder, files, lambda: cls(root, train=False, download=download, **kwargs))
    x_tr, x_te = train.data, test.data
    if split:  # EMNIST stores images transposed; turn them upright once, here.
        x_tr, x_te = x_tr.transpose(1, 2), x_te.transpose(1, 2)
    return DecodedDataset(x_tr.unsqueeze(1).contiguous(), train.targets.long(), list(train.classes),
               x_te.unsqueeze(1).contiguous(), test.targets.long())


def mnist(root: str, download: bool = True) -> DecodedDataset:
    return _mnist_family(datasets.MNIST, "mnist", root, download)


def fashion_mnist(root: str, download: bool = True) -> DecodedDataset:
    return _mnist_family(datasets.FashionMNIST, "fashion_mnist", root, download)


def emnist(root: str, download: bool = True, split: str = "balanced") -> DecodedDataset:
    if split not in datasets.EMNIST.splits:
        raise DataError(f"data.split={split!r} is not an EMNIST split; choose one of: {', '.join(datasets.EMNIST.splits)}")
    return _mnist_family(datasets.EMNIST, "emnist", root, download, split)


class _LocalCIFAR10(datasets.CIFAR10):
    """CIFAR-10 whose local files are checked by unpickling, not by md5.

    torchvision compares every batch file against the official md5, so re-packed or
    test-made pickles fail with "not found or corrupted". The download itself is still
    md5-checked (tgz_md5), and a damaged pickle still fails, naming its file.
    """

    train_list = [[name, None] for name, _ in datasets.CIFAR10.train_list]
    test_list = [[name, None] for name, _ in datasets.CIFAR10.test_list]
    meta = {**datasets.CIFAR10.meta, "md5": None}


def cifar10(root: str, download: bool = True) -> DecodedDataset:
    cls = _LocalCIFAR10
    folder = os.path.join(root, cls.base_folder)
    files = [n for n, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
    train = _open("cifar10", folder, files, lambda: cls(root, train=True, download=download))
    test = _open("cifar10", folder, files, lambda: cls(root, train=False, download=download))

    def chw(a):
        return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))

    return DecodedDataset(chw(train.data), torch.tensor(train.targets), list(train.classes),
               chw(test.data), torch.tensor(test.targets))


def idx_files(root: str, images: str, labels: str, classes: list[str] | None = None) -> DecodedDataset:
    """One split from a pair of IDX files (plain or .gz), e.g. the official MNIST t10k set.

    There is no second split here: the data module splits validation (and test) off it.
    """
    paths = [Path(root) / images, Path(root) / labels]
    for path in paths:
        if not path.is_file():
            raise DataError(f"idx: {path} not found; data.root must hold {images} and {labels}")
    with tempfile.TemporaryDirectory() as tmp:
        plain = [_ungzip(p, tmp) for p in paths]
        try:
            x = read_image_file(plain[0])
        except Exception as exc:
            raise DataError(f"idx: corrupt data file {paths[0]} ({type(exc).__name__})") from None
        try:
            y = read_label_file(plain[1]).long()
        except Exception as exc:
            raise DataError(f"idx: corrupt data file {paths[1]} ({type(exc).__name__})") from None
    if len(x) != len(y):
        raise DataError(f"idx: {paths[0]} has {len(x)} images but {paths[1]} has {len(y)} labels")
    names = classes or [str(c) for c in range(int(y.max()) + 1)]
    return DecodedDataset(x.unsqueeze(1).contiguous(), y, list(names))


def _ungzip(path: Path, tmp: str) -> str:
    if path.suffix != ".gz":
        return str(path)
    try:
        return extract_archive(str(path), tmp)
    except Exception as exc:
        raise DataError(f"idx: corrupt data file {path} ({type(exc).__name__})") from None
