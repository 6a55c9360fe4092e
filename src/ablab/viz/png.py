"""Render a matplotlib Figure once: PNG file on disk plus the same pixels for TensorBoard,
and the TensorBoard writer those pixels (and histograms, tables) go to."""
from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from pytorch_lightning import Trainer
from pytorch_lightning.loggers import TensorBoardLogger

if TYPE_CHECKING:  # matplotlib is imported by whoever draws, after training, not by a run's start
    from matplotlib.figure import Figure


def save_png(fig: Figure, path: str | Path, dpi: int = 100) -> np.ndarray:
    """Write `fig` to `path` and return its pixels as uint8 (H, W, 3).

    One render feeds both the PNG and TensorBoard, so the two always show the same image.
    Figures lay themselves out (tight_layout, reserved margins): bbox_inches="tight" would
    cost a second render.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    data = buf.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def tensorboard_writer(trainer: Trainer):
    """The SummaryWriter of the first TensorBoard logger; None without one, and on DDP ranks
    other than zero (their logger's writer is a no-op, so nothing is worth computing for it)."""
    tb = next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
    return tb.experiment if tb is not None and trainer.is_global_zero else None
