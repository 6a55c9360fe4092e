"""Render a matplotlib Figure once into a PNG file, hand TensorBoard the same PNG bytes, and
find the TensorBoard writer those images (and histograms, tables) go to."""
from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from pytorch_lightning import Trainer
from pytorch_lightning.loggers import TensorBoardLogger

if TYPE_CHECKING:  # matplotlib is imported by whoever draws, after training, not by a run's start
    from matplotlib.figure import Figure


def save_png(fig: Figure, path: str | Path, dpi: int = 100) -> bytes:
    """Write `fig` to `path` as PNG and return the file's bytes.

    One render feeds both the PNG and TensorBoard (`add_png`), so the two always show the
    same image. Figures lay themselves out (tight_layout, reserved margins):
    bbox_inches="tight" would cost a second render.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    data = buf.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def add_png(writer, tag: str, png: bytes, step: int) -> None:
    """An image summary holding `png` as it is. SummaryWriter.add_image takes pixels and
    encodes them again: decoding and re-encoding cost more than drawing a small figure."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk that starts every PNG
    image = Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=png)  # matplotlib: RGBA
    # The writer's own path for summaries, as add_image's last step (_get_file_writer reopens a closed writer).
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)


def tensorboard_writer(trainer: Trainer):
    """The SummaryWriter of the first TensorBoard logger; None without one, and on DDP ranks
    other than zero (their logger's writer is a no-op, so nothing is worth computing for it)."""
    tb = next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
    return tb.experiment if tb is not None and trainer.is_global_zero else None
