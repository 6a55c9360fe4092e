"""Where images come from and how batches are made: a LightningDataModule per dataset."""
from ablab._lazy import exports

__all__ = ["ImageDataModule", "MNISTSampleDataModule", "MNISTDataModule", "EMNISTDataModule",
           "FashionMNISTDataModule", "CIFAR10DataModule", "ImageFolderDataModule"]
__getattr__ = exports(__name__, {"ImageDataModule": ".module", **{n: ".datasets" for n in __all__[1:]}})
