"""ablab: an ablation lab for image classifiers.

The Python API (docs/python-api.md): the LightningModule, a LightningDataModule per dataset,
the architectures and the factor factories, each a plain object that works without Hydra.
"""
from ablab._lazy import exports
from ablab.cli.quiet import silence_known_noise

__all__ = [
    "Classifier",
    "MNISTSampleDataModule", "MNISTDataModule", "EMNISTDataModule", "FashionMNISTDataModule",
    "CIFAR10DataModule", "ImageFolderDataModule",
    "MLP", "CNN", "LeNet5", "AlexNet", "VGG", "ResNet", "RNN",
]
__getattr__ = exports(__name__, {
    "Classifier": ".lit",
    **{name: ".data" for name in __all__ if name.endswith("DataModule")},
    **{name: ".models" for name in ("MLP", "CNN", "LeNet5", "AlexNet", "VGG", "ResNet", "RNN")},
})
silence_known_noise()
