"""Long-tailed runs in TensorBoard and figures/: training class counts, shot-group accuracy
(computed by ablab.metrics.shot_accuracy).

`LongTailReport` is the callback a run adds (ablab.run.callbacks) when `data.longtail` is set. It reads
`trainer.datamodule` (`classes`, `train_counts`, `longtail_options`: the parsed data.longtail)
and `pl_module.evaluated[split].per_class_acc` (published by the LightningModule at each
validation / test epoch end), and writes to TensorBoard and figures/:
- at fit start: the training images per class as a markdown table (text
  `data/train_class_counts`) and a bar chart (image `figures/train_class_counts`, also
  <run dir>/figures/train_class_counts.png);
- after every validation and after test: the mean per-class accuracy of the many-,
  medium- and few-shot classes (and of head and tail for a step profile) as scalars
  `<split>/many_acc`, ... (ablab.metrics.shot_accuracy's `split_shots`, which results.json's
  `<split>.shots` come from too);
- after test: class, count, group and val/test accuracy as a table (text
  `data/per_class_accuracy`) and a chart of test accuracy over the counts
  (`figures/longtail_accuracy`).
The two charts follow viz.draw as the run's other figures do: a -m sweep's job (draw=auto)
saves their data as figures/longtail.pt instead, and `python -m ablab.viz DIR` draws them.
"""
from pathlib import Path
from typing import TYPE_CHECKING

from pytorch_lightning import Callback

from ablab.metrics.shot_accuracy import shot_group, split_shots
from ablab.viz.deferral import DEFERRED_LONGTAIL, drawn_later, save_for_later
from ablab.viz.png import add_png, footer, save_png, tensorboard_writer

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn, after training
    from matplotlib.figure import Figure

GROUP_COLOURS = {"many": "#1f77b4", "medium": "#ff7f0e", "few": "#d62728"}


def counts_table(classes, counts, many: int, few: int, acc: dict[str, list] | None = None) -> str:
    acc = acc or {}
    head = ["class", "training images", "group", *(f"{split} accuracy" for split in acc)]
    rows = ["| " + " | ".join(head) + " |", "|---|---:|---|" + "---:|" * len(acc)]
    for i, (name, n) in enumerate(zip(classes, counts)):
        cells = [str(name), str(n), shot_group(n, many, few), *(f"{a[i]:.4f}" for a in acc.values())]
        rows.append("| " + " | ".join(cells) + " |")
    present = [n for n in counts if n > 0]
    ratio = f"{max(present) / min(present):.1f}" if present else "n/a"
    return "\n".join(rows) + f"\n\n{sum(counts)} training images; largest / smallest class: {ratio}"


def counts_figure(classes, counts, many: int, few: int, acc: list[float] | None = None) -> "Figure":
    from matplotlib.figure import Figure  # here: a run imports matplotlib only when it draws
    from matplotlib.patches import Patch

    """Bars of the training images per class, coloured by shot group; dots of accuracy when given."""
    k = len(classes)
    fig = Figure(figsize=(min(max(6.0, 0.25 * k + 3), 20.0), 4.5), layout="tight")
    ax = fig.subplots()
    groups = [shot_group(n, many, few) for n in counts]
    ax.bar(range(k), counts, color=[GROUP_COLOURS[g] for g in groups])
    handles = [Patch(color=c, label=f"{g}-shot") for g, c in GROUP_COLOURS.items() if g in groups]
    ax.set_xticks(range(k), [str(c) for c in classes], rotation=0 if max(map(len, map(str, classes))) <= 2 else 90,
                  fontsize=9 if k <= 20 else 7)
    ax.set_ylabel("training images")
    ax.set_xlabel("class")
    if k <= 20:
        for i, n in enumerate(counts):
            ax.text(i, n, str(n), ha="center", va="bottom", fontsize=8)
    if acc is None:
        ax.set_title(f"training images per class (many > {many}, few < {few})")
    else:
        right = ax.twinx()
        handles += right.plot(range(k), acc, "ko-", markersize=4, label="test accuracy")
        right.set_ylim(0, 1.05)
        right.set_ylabel("test accuracy")
        ax.set_title("test accuracy per class over the training images")
    # Above the plot: bars and dots fill the axes wherever a legend could go inside.
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.08), ncol=len(handles), fontsize=8,
              frameon=False)
    return fig


class LongTailReport(Callback):
    def __init__(self, draw: str = "auto"):
        self.draw = draw  # viz.draw: end, later, or auto (later in a -m sweep)

    def on_fit_start(self, trainer, pl_module) -> None:
        dm = trainer.datamodule
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        many, few = dm.longtail_options.many, dm.longtail_options.few
        writer.add_text("data/train_class_counts", counts_table(dm.classes, dm.train_counts, many, few), 0)
        if not drawn_later(self.draw):  # else drawn with the accuracy chart, from longtail.pt
            self._figure(trainer, writer, "train_class_counts", counts_figure(dm.classes, dm.train_counts, many, few))

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._shots(trainer, pl_module, "val")

    def on_test_end(self, trainer, pl_module) -> None:
        self._shots(trainer, pl_module, "test")
        dm, writer = trainer.datamodule, tensorboard_writer(trainer)
        if writer is None:
            return
        acc = {s: pl_module.evaluated[s].per_class_acc for s in ("val", "test") if s in pl_module.evaluated}
        many, few = dm.longtail_options.many, dm.longtail_options.few
        writer.add_text("data/per_class_accuracy", counts_table(dm.classes, dm.train_counts, many, few, acc),
                        trainer.global_step)
        if drawn_later(self.draw):
            data = {"label": _label(trainer), "classes": [str(c) for c in dm.classes],
                    "train_counts": list(dm.train_counts), "many": many, "few": few, "test_acc": list(acc["test"]),
                    "step": trainer.global_step}
            save_for_later(data, Path(trainer.default_root_dir) / "figures" / DEFERRED_LONGTAIL, trainer, writer)
            return
        figure = counts_figure(dm.classes, dm.train_counts, many, few, acc["test"])
        self._figure(trainer, writer, "longtail_accuracy", figure)

    def _shots(self, trainer, pl_module, split: str) -> None:
        evaluation = pl_module.evaluated.get(split)
        if evaluation is None:
            return
        groups = split_shots(evaluation, trainer.datamodule)
        metrics = {f"{split}/{group}_acc": acc for group, acc in groups.items()}
        # The step Lightning logs its own epoch-end metrics at (one behind global_step during
        # fit), so val/few_acc lines up with val/acc.
        step = getattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped", trainer.global_step)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)

    @staticmethod
    def _figure(trainer, writer, name: str, figure: "Figure") -> None:
        if _label(trainer):
            footer(figure, _label(trainer))
        png = save_png(figure, Path(trainer.default_root_dir) / "figures" / f"{name}.png")
        add_png(writer, f"figures/{name}", png, trainer.global_step)
        writer.flush()


def publish_longtail(data: dict, out: Path, writer=None) -> None:
    """Draw the charts a job saved for later (figures/longtail.pt) into `out` and TensorBoard,
    at the steps the report would have drawn them at."""
    parts = (data["classes"], data["train_counts"], data["many"], data["few"])
    for name, figure, step in (("train_class_counts", counts_figure(*parts), 0),
                               ("longtail_accuracy", counts_figure(*parts, data["test_acc"]), data["step"])):
        if data.get("label"):
            footer(figure, data["label"])
        png = save_png(figure, out / f"{name}.png")
        if writer is not None:
            add_png(writer, f"figures/{name}", png, step)
    if writer is not None:
        writer.flush()


def _label(trainer) -> str:
    """The run's display name and dataset, as the run's logger has them (ablab.run.tensorboard)."""
    return getattr(trainer.logger, "label", "") or ""
