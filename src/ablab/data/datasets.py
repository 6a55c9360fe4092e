"""One LightningDataModule per dataset: each is only that dataset's facts.

Where the images come from, the channel statistics and the class count are all that
tells MNIST from CIFAR-10; splitting, long tails, batching and augmentation are the
shared `ImageDataModule`. Usable without Hydra:

    dm = MNISTSampleDataModule()                     # the embedded, offline MNIST sample
    dm = EMNISTDataModule("./data", split="balanced", longtail={"ratio": 100})

Every keyword of `ImageDataModule` (batch_size, val_fraction, folds, fold, seed,
longtail, augment, sampler, ...) passes through; conf/data/*.yaml target these classes.
"""
from functools import partial
from pathlib import Path

from ablab.data import folder, sources
from ablab.data.datamodule import ImageDataModule

# The official MNIST test set (10,000 digits, LeCun & Cortes, CC BY-SA 3.0), shipped as
# package data so the default run needs no download.
SAMPLE_DIR = Path(__file__).resolve().parent / "mnist_sample"
MNIST_STATS = {"mean": [0.1307], "std": [0.3081]}


class MNISTDataModule(ImageDataModule):
    """MNIST: 60,000 train / 10,000 test handwritten digits, 28x28 grey, 10 classes."""

    def __init__(self, root: str = "./data", download: bool = True, **kwargs):
        kwargs = {**MNIST_STATS, **kwargs}
        super().__init__(name="mnist", source=partial(sources.mnist, download=download), root=root, **kwargs)


class FashionMNISTDataModule(ImageDataModule):
    """Fashion-MNIST: 60,000 train / 10,000 test clothing images, 28x28 grey, 10 classes."""

    def __init__(self, root: str = "./data", download: bool = True, **kwargs):
        kwargs = {"mean": [0.2860], "std": [0.3530], **kwargs}
        super().__init__(name="fashion_mnist", source=partial(sources.fashion_mnist, download=download),
                         root=root, **kwargs)


class EMNISTDataModule(ImageDataModule):
    """EMNIST letters and digits, 28x28 grey, turned upright; `split` balanced has 47 classes."""

    def __init__(self, root: str = "./data", split: str = "balanced", download: bool = True, **kwargs):
        kwargs = {"mean": [0.1751], "std": [0.3332], **kwargs}
        super().__init__(name="emnist", source=partial(sources.emnist, download=download, split=split),
                         root=root, **kwargs)


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10: 50,000 train / 10,000 test colour images, 32x32, 10 classes."""

    def __init__(self, root: str = "./data", download: bool = True, **kwargs):
        kwargs = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616], **kwargs}
        super().__init__(name="cifar10", source=partial(sources.cifar10, download=download), root=root, **kwargs)


class ImageFolderDataModule(ImageDataModule):
    """Your own images: root/train/<class>/*, optional root/val and root/test.

    Mean and std are measured on the training images unless given; `in_memory=False`
    streams the images from disk through a DataLoader instead of holding them as a tensor.
    """

    def __init__(self, root: str, channels: int = 3, image_size: list[int] | None = None,
                 in_memory: bool = True, **kwargs):
        source = partial(folder.image_folder, channels=channels, image_size=image_size, in_memory=in_memory)
        super().__init__(name="folder", source=source, root=root, in_memory=in_memory, **kwargs)


class MNISTSampleDataModule(ImageDataModule):
    """The embedded MNIST sample (the official 10,000-digit test set), offline.

    With no split of its own it is split three ways, stratified and seeded: by default
    1,000 test images first, then 899 validation images off the remaining 9,000.
    `root` (default: the copy inside the package) may name another folder holding the two
    t10k IDX files, e.g. a private copy for a benchmark.
    """

    def __init__(self, root: str | None = None, test_fraction: float = 0.1, cache: bool = False, **kwargs):
        # cache=False: decoding 1.6 MB of IDX takes a fraction of a second, and the package
        # folder is no place to write a cache into.
        source = partial(sources.idx_files, images="t10k-images-idx3-ubyte.gz", labels="t10k-labels-idx1-ubyte.gz")
        kwargs = {**MNIST_STATS, **kwargs}
        super().__init__(name="mnist_sample", source=source, root=str(root or SAMPLE_DIR), test_fraction=test_fraction,
                         cache=cache, **kwargs)
