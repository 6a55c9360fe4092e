"""When a run's figures are drawn: at the end of test, or later from their saved data (a -m
sweep's jobs leave matplotlib to `python -m ablab.viz`). One rule for every callback that draws
(the Figures callback, the long-tail report), for the sweep's closing line and the study tables."""
from pathlib import Path

import torch

DEFERRED = "figures.pt"  # in <run dir>/figures/: the Figures callback's data, saved, not drawn yet
DEFERRED_LONGTAIL = "longtail.pt"  # the long-tail report's (ablab.viz.longtail_report)


def drawn_later(draw: str) -> bool:
    """viz.draw: "end" draws at the end of test, "later" saves the data; "auto" is later in a -m sweep."""
    if draw != "auto":
        return draw == "later"
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def save_for_later(data: dict, path: Path, trainer, writer) -> None:
    """Save figure data where draw_deferred finds it, with the run's TensorBoard run to draw into."""
    data["tensorboard"] = Path(writer.log_dir).relative_to(trainer.default_root_dir).as_posix() if writer else None
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)


def waiting(root: Path) -> list[Path]:
    """The run directories below `root` (or `root` itself) whose figures are saved, not drawn."""
    return sorted({saved.parent.parent for name in (DEFERRED, DEFERRED_LONGTAIL)
                   for saved in Path(root).rglob(f"figures/{name}")})
