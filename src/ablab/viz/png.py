"""Render a matplotlib Figure once: PNG file on disk plus the same pixels for TensorBoard."""
import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image


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
