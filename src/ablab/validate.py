"""Check a composed config before anything is built: one line per mistake, naming key, value and rule."""
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ablab.errors import UserError


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v):
    return isinstance(v, int) and not isinstance(v, bool)


RULES = [
    ("optimizer.lr", lambda v: _number(v) and v > 0, "a number > 0"),
    ("optimizer.weight_decay", lambda v: _number(v) and v >= 0, "a number >= 0"),
    ("dropout", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("data.batch_size", lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    ("data.eval_batch_size", lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    ("data.val_fraction", lambda v: _number(v) and 0 < v < 1, "a number in (0, 1)"),
    ("data.test_fraction", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("data.folds", lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    ("trainer.max_epochs", lambda v: _integer(v) and (v >= 1 or v == -1), "an integer >= 1 (or -1 for no limit)"),
    ("seed", lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    ("loss.label_smoothing", lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    ("loss.gamma", lambda v: _number(v) and v >= 0, "a number >= 0"),
    ("regularizer.strength", lambda v: _number(v) and v >= 0, "a number >= 0"),
]


def validate(cfg: DictConfig) -> None:
    for key, ok, allowed in RULES:
        value = OmegaConf.select(cfg, key, default=None)
        if value is not None and not ok(value):
            raise UserError(f"{key}={value!r} is not allowed: must be {allowed}")
    folds, fold = cfg.data.get("folds", 1), cfg.data.get("fold", 0)
    if not (_integer(fold) and 0 <= fold < max(folds, 1)):
        raise UserError(f"data.fold={fold!r} is not allowed: must be an integer in [0, data.folds={folds})")
    if cfg.get("ckpt_path") and not Path(cfg.ckpt_path).is_file():
        raise UserError(f"ckpt_path={cfg.ckpt_path!r}: no such checkpoint file")
    if str(cfg.data.get("_target_", "")).endswith("ImageFolderDataModule"):  # your own images: they must be there
        root = Path(str(cfg.data.root)).expanduser()
        if not (root / "train").is_dir():
            raise UserError(f"data.root={cfg.data.root!r} has no train/ folder; data=folder reads "
                            "<data.root>/train/<class name>/<image files>")
