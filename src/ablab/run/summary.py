"""The few lines a completed run prints on stdout: its numbers and where it is."""
from pathlib import Path

from ablab.paths import shown


def summary(record: dict, run_dir: Path) -> str:
    where = shown(run_dir)
    head = f"ablab: run {record.get('status')} in {record.get('wall_s', 0):.1f} s"
    best = record.get("best_epoch")  # counted from 1, as the history is
    lines = [f"{head}; best checkpoint after epoch {'?' if best is None else best} of {record.get('epochs')}"]
    for split in ("val", "test"):
        metrics = record.get(split) or {}
        if "acc" in metrics:
            lines.append(f"  {split:<5}     acc {metrics['acc']:.4f}   macro F1 {metrics.get('f1_macro', float('nan')):.4f}")
    lines.append(f"  run dir   {where} (results.json, figures/, checkpoints/)")
    lines.append(f"  curves    tensorboard --logdir {shown(run_dir)}")
    return "\n".join(lines)
