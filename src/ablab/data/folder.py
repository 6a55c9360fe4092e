"""Users' own images in the ImageFolder layout: root/train/<class>/*.png|jpg.

root/val and root/test are used when present (same class folders as train); the data
module splits what is missing off train. Images are decoded once into one uint8
tensor (and cached by the data module); `FolderImages` is the per-sample path for
folders too big to hold in memory.
"""
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.datasets import ImageFolder
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2.functional import resize

from ablab.data.sources import DecodedDataset
from ablab.errors import DataError


class FolderImages(Dataset):
    """(uint8 CHW image, label) pairs, decoded on demand at a fixed size."""

    def __init__(self, folder: Path, channels: int, size: tuple[int, int] | None, classes: list[str] | None = None):
        self.folder = ImageFolder(str(folder), allow_empty=True)
        if classes is not None and self.folder.classes != classes:
            raise DataError(f"folder: class folders of {folder} {self.folder.classes} differ from train's {classes}")
        if not self.folder.samples:
            raise DataError(f"folder: no images found under {folder}/<class>/")
        self.mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
        self.targets = torch.tensor(self.folder.targets)
        self.size = size or tuple(self._decode(0).shape[1:])

    def _decode(self, i: int) -> torch.Tensor:
        path = self.folder.samples[i][0]
        try:
            return decode_image(path, mode=self.mode)
        except Exception as exc:
            raise DataError(f"folder: corrupt image file {path} ({type(exc).__name__})") from None

    def __len__(self) -> int:
        return len(self.folder.samples)

    def __getitem__(self, i: int):
        image = self._decode(i)
        if tuple(image.shape[1:]) != self.size:
            image = resize(image, list(self.size), antialias=True)
        return image, int(self.targets[i])

    def decode_all(self) -> torch.Tensor:
        return torch.stack([self[i][0] for i in range(len(self))])


def folder_splits(root: str, channels: int = 3, image_size: list[int] | None = None) -> dict[str, FolderImages]:
    base = Path(root)
    if not (base / "train").is_dir():
        raise DataError(f"folder: {base / 'train'} not found; data.root must hold train/<class name>/<image files>")
    size = tuple(image_size) if image_size else None
    train = FolderImages(base / "train", channels, size)
    splits = {"train": train}
    for name in ("val", "test"):
        if (base / name).is_dir():
            splits[name] = FolderImages(base / name, channels, train.size, train.folder.classes)
    return splits


def image_folder(root: str, channels: int = 3, image_size: list[int] | None = None,
                 in_memory: bool = True) -> DecodedDataset:
    """Decoded uint8 tensors, or (in_memory=False) the per-sample datasets in their place."""
    splits = folder_splits(root, channels, image_size)

    def images(split):
        return splits[split].decode_all() if in_memory else splits[split]

    train = splits["train"]
    decoded = DecodedDataset(images("train"), train.targets, list(train.folder.classes))
    for name in ("val", "test"):
        if name in splits:
            setattr(decoded, f"{name}_x", images(name))
            setattr(decoded, f"{name}_y", splits[name].targets)
    return decoded
