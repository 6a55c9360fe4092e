"""Predict the classes of new images with a trained checkpoint and write predictions.csv.

`predict(cfg)` is what predict.py calls inside Hydra. The input is one image file, a
folder of images (searched recursively), or a CSV of flattened pixels in the Kaggle
digit-recognizer format. Images become what the network was trained on: the
checkpoint's channels (grey or RGB), its height x width (resized like the folder data
source does), then floats by the checkpoint's own `Preprocess`.
"""
import csv
import math
from pathlib import Path

import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from PIL import Image
from torch.nn.functional import interpolate

from ablab.errors import DataError, UserError
from ablab.run import checkpoint, devices

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def predict(cfg: DictConfig) -> Path:
    device = _device(cfg.device)  # before reading anything
    ckpt = checkpoint.load(cfg.ckpt_path)
    source = Path(cfg.input)
    if not source.exists():
        raise UserError(f"input={cfg.input}: no such file or folder")
    if source.suffix.lower() == ".csv":
        images = read_pixel_csv(source, ckpt.input_shape)
        ids = range(1, len(images) + 1)  # Kaggle numbers images from 1
    else:
        files = image_files(source)
        images = torch.stack([read_image(f, ckpt.input_shape) for f in files])
        ids = [f.relative_to(source).as_posix() if source.is_dir() else f.name for f in files]

    probability, label = probabilities(images, ckpt, cfg.batch_size, device).max(1)
    out = Path(cfg.output) if cfg.output else Path(HydraConfig.get().runtime.output_dir) / "predictions.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        if source.suffix.lower() == ".csv":
            writer.writerow(["ImageId", "Label"])
            writer.writerows(zip(ids, label.tolist()))
        else:
            writer.writerow(["file", "class", "probability"])
            writer.writerows((i, ckpt.classes[k], f"{p:.6f}") for i, k, p in zip(ids, label.tolist(), probability.tolist()))
    print(f"ablab: wrote {len(images)} prediction{'' if len(images) == 1 else 's'} to {out}")
    return out


@torch.no_grad()
def probabilities(images: torch.Tensor, ckpt: checkpoint.Checkpoint, batch_size: int, device) -> torch.Tensor:
    """Softmax over the classes for uint8 (N, C, H, W) images, in batches."""
    net = checkpoint.network(ckpt).to(device)
    out = [net(ckpt.preprocess.images(x.to(device))).softmax(1).cpu() for x in images.split(batch_size)]
    return torch.cat(out)


def image_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"input={source}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
    return files


def read_image(path: Path, shape) -> torch.Tensor:
    """One image file as uint8 (C, H, W) of the checkpoint's shape."""
    c, h, w = shape
    if c not in (1, 3):
        raise UserError(f"the checkpoint's model takes {c}-channel images; image files give grey (1) or RGB (3)")
    try:
        with Image.open(path) as img:
            pixels = np.array(img.convert("L" if c == 1 else "RGB"))
    except Exception as exc:
        raise DataError(f"input: {path} is not a readable image ({type(exc).__name__})") from None
    x = torch.from_numpy(pixels).reshape(1, pixels.shape[0], pixels.shape[1], c).permute(0, 3, 1, 2)
    if tuple(x.shape[2:]) != (h, w):
        # torchvision's resize(antialias=True), as the folder source uses, without importing torchvision (~4 s)
        x = interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return x[0].contiguous()


def read_pixel_csv(path: Path, shape) -> torch.Tensor:
    """Kaggle digit-recognizer rows: header pixel0..pixelN-1 (and maybe label), values 0-255."""
    with open(path, newline="") as f:
        header = [name.strip() for name in next(csv.reader(f), [])]
    columns = sorted((int(n[5:]), i) for i, n in enumerate(header) if n.startswith("pixel") and n[5:].isdigit())
    if not columns:
        raise DataError(f"input={path}: expected a header row pixel0,pixel1,... (the Kaggle digit-recognizer CSV)")
    need = math.prod(shape)
    if len(columns) != need:
        raise DataError(f"input={path} has {len(columns)} pixel columns but the checkpoint's model takes "
                        f"{'x'.join(map(str, shape))} = {need} pixels per image")
    try:
        values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=[i for _, i in columns], ndmin=2,
                            dtype=np.float32)
    except ValueError as exc:
        raise DataError(f"input={path}: not a table of numbers ({str(exc).splitlines()[0][:100]})") from None
    if len(values) == 0:
        raise DataError(f"input={path}: no rows of pixels after the header")
    if values.min() < 0 or values.max() > 255:
        raise DataError(f"input={path}: pixel values must be 0-255, found {values.min():g}..{values.max():g}")
    return torch.from_numpy(values.round().astype(np.uint8)).view(-1, *shape)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    devices.require("device", name)
    return torch.device(name)
