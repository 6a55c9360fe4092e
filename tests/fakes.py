"""Tiny datasets in the real on-disk formats, so torchvision's own loaders read them.

Images carry a class-dependent pattern (a bright bar whose position encodes the label)
so a model can learn them in a few steps; nothing here is committed as a binary.
"""
import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def images_for(labels: np.ndarray, size: int = 28, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(labels)
    x = rng.integers(0, 40, size=(n, size, size, channels), dtype=np.uint8)
    classes = int(labels.max()) + 1
    for i, label in enumerate(labels):
        row = int(label * (size - 2) / max(classes - 1, 1))
        x[i, row:row + 2, :, :] = 255
    return x


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """IDX (ubyte): magic 0x0000 08 <ndim>, big-endian dims, then raw bytes."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def mnist_root(root: Path, folder: str = "MNIST", n_train: int = 600, n_test: int = 200, classes: int = 10) -> Path:
    raw = root / folder / "raw"
    for part, n in (("train", n_train), ("t10k", n_test)):
        y = np.arange(n) % classes
        write_idx(raw / f"{part}-images-idx3-ubyte", images_for(y, seed=n)[..., 0])
        write_idx(raw / f"{part}-labels-idx1-ubyte", y.astype(np.uint8))
    return root


def emnist_root(root: Path, split: str = "balanced", n_train: int = 940, n_test: int = 470, classes: int = 47) -> Path:
    """EMNIST's files hold each image transposed; write them that way, as NIST does."""
    raw = root / "EMNIST" / "raw"
    for part, n in (("train", n_train), ("test", n_test)):
        y = np.arange(n) % classes
        upright = images_for(y, seed=n)[..., 0]
        write_idx(raw / f"emnist-{split}-{part}-images-idx3-ubyte", upright.transpose(0, 2, 1))
        write_idx(raw / f"emnist-{split}-{part}-labels-idx1-ubyte", y.astype(np.uint8))
    return root


CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar10_root(root: Path, per_batch: int = 100, n_test: int = 200) -> Path:
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)

    def batch(name, n, seed):
        y = np.arange(n) % 10
        x = images_for(y, size=32, channels=3, seed=seed)  # HWC
        data = x.transpose(0, 3, 1, 2).reshape(n, 3072)  # CIFAR rows: R plane, G plane, B plane
        with open(base / name, "wb") as f:
            pickle.dump({"data": data, "labels": y.tolist(), "batch_label": name}, f)

    for i in range(1, 6):
        batch(f"data_batch_{i}", per_batch, i)
    batch("test_batch", n_test, 99)
    with open(base / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch}, f)
    return root


def folder_root(root: Path, classes=("cat", "dog", "owl"), per_class: int = 30, size: int = 20,
                splits=("train",)) -> Path:
    for split in splits:
        for c, name in enumerate(classes):
            y = np.full(per_class, c)
            x = images_for(np.concatenate([y, [len(classes) - 1]]), size=size, channels=3, seed=c)[:-1]
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i, img in enumerate(x):
                Image.fromarray(img).save(root / split / name / f"{i:03d}.png")
    return root
