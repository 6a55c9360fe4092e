"""Render a matplotlib Figure once into a PNG file (with a footer naming its run), hand
TensorBoard the same PNG bytes, and find the TensorBoard writer those images (and histograms,
tables) go to."""
from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from pytorch_lightning import Trainer
from pytorch_lightning.loggers import TensorBoardLogger

from ablab import upstream

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
    upstream.file_writer(writer).add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)


def tensorboard_writer(trainer: Trainer):
    """The SummaryWriter of the first TensorBoard logger; None without one, and on DDP ranks
    other than zero (their logger's writer is a no-op, so nothing is worth computing for it)."""
    tb = next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
    return tb.experiment if tb is not None and trainer.is_global_zero else None


def footer(fig, text: str) -> None:
    """A grey line under the figure naming whose it is, so a figure pasted elsewhere still says
    which run it shows: the figure grows at the bottom, the drawing moves up. The type grows
    with the figure, so the line stays legible where TensorBoard shrinks a wide grid to a card."""
    width, height = fig.get_size_inches()
    size = max(9.0, 1.2 * width)
    inches = size / 72 * 1.7
    grown = height + inches
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in engine.get():  # constrained layout: a smaller box
        engine.set(rect=(0, inches / grown, 1, 1 - inches / grown))
        fig.set_size_inches(width, grown)
        fig.text(0.01, 0.2 * inches / grown, text, ha="left", va="bottom", fontsize=size, color="0.3")
        return
    for ax in fig.axes:
        box = ax.get_position()
        ax.set_position([box.x0, (box.y0 * height + inches) / grown, box.width, box.height * height / grown])
    for artist in fig.texts:  # suptitles and figure-level text keep their place above the drawing
        x, y = artist.get_position()
        artist.set_position((x, (y * height + inches) / grown))
    fig.set_size_inches(width, grown)
    fig.text(0.01, 0.2 * inches / grown, text, ha="left", va="bottom", fontsize=size, color="0.3")
