"""Check a composed config before anything is built: one line per mistake, naming key, value and rule."""
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ablab.errors import UserError


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _sizes(v):
    """A layer size or a list of them (model.hidden is a list for mlp, one number for rnn)."""
    return (_integer(v) and v >= 1) or (isinstance(v, (list, tuple)) and all(_integer(x) and x >= 1 for x in v))


# Lightning's precision names (lightning_fabric's _PRECISION_INPUT), kept here so checking
# them needs no Lightning import.
PRECISIONS = ("64", "64-true", "32", "32-true", "16", "16-mixed", "16-true", "bf16", "bf16-mixed", "bf16-true",
              "transformer-engine", "transformer-engine-float16")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")

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
    ("model.hidden", _sizes, "an integer >= 1 or a list of them, e.g. [512,256]"),
    ("model.head", _sizes, "a list of integers >= 1, e.g. [128]"),
    ("model.layers", lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    ("model.width", lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    ("trainer.precision", lambda v: str(v) in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
    ("trainer.accelerator", lambda v: isinstance(v, str) and v in ACCELERATORS, f"one of {', '.join(ACCELERATORS)}"),
    ("trainer.devices", lambda v: v == "auto" or (_integer(v) and (v >= 1 or v == -1)) or isinstance(v, (list, tuple)),
     "an integer >= 1, -1 (all), a list of device ids or auto"),
    ("trainer.log_every_n_steps", lambda v: _integer(v) and v >= 1, "an integer >= 1"),
]

PREDICT_RULES = [
    ("batch_size", lambda v: _integer(v) and v >= 1, "an integer >= 1"),
    ("device", lambda v: isinstance(v, str) and v.split(":")[0] in ("auto", "cpu", "cuda", "mps"), "auto, cpu, cuda or mps"),
]


def _apply(cfg: DictConfig, rules) -> None:
    for key, ok, allowed in rules:
        value = OmegaConf.select(cfg, key, default=None)
        if OmegaConf.is_config(value):
            value = OmegaConf.to_container(value)
        if value is not None and not ok(value):
            raise UserError(f"{key}={value!r} is not allowed: must be {allowed}")


def activation_options() -> list[str]:
    """The activation config group's options: the names of conf/activation/*.yaml."""
    from ablab.cli import CONF_DIR

    return sorted(p.stem for p in (Path(CONF_DIR) / "activation").glob("*.yaml"))


def check_activations(model) -> list[str] | None:
    """model.activations (the MLP's): null, or one activation option per entry of model.hidden.
    Returns the names; build.model resolves them to factories."""
    names = model.get("activations")
    if OmegaConf.is_config(names):
        names = OmegaConf.to_container(names)
    if names is None:
        return None
    hidden = model.get("hidden")
    if OmegaConf.is_config(hidden):
        hidden = OmegaConf.to_container(hidden)
    allowed = activation_options()
    bad = f"model.activations={names!r} is not allowed"
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{bad}: must be a list of activation names, one per hidden layer, e.g. [relu,tanh], "
                        f"from {', '.join(allowed)}")
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise UserError(f"{bad}: {unknown[0]!r} is not an activation; choose from {', '.join(allowed)}")
    if not isinstance(hidden, list):
        raise UserError(f"{bad}: only a model with a list of hidden layers (model=mlp's model.hidden) "
                        "takes one activation per layer")
    if len(names) != len(hidden):
        raise UserError(f"{bad}: must name one activation per hidden layer, {len(hidden)} for "
                        f"model.hidden={hidden!r}, from {', '.join(allowed)}")
    return names


def validate_predict(cfg: DictConfig) -> None:
    _apply(cfg, PREDICT_RULES)


def validate(cfg: DictConfig) -> None:
    _apply(cfg, RULES)
    check_activations(cfg.model)
    horizon = OmegaConf.select(cfg, "scheduler.horizon_arg", default=None)
    max_steps = OmegaConf.select(cfg, "trainer.max_steps", default=None)
    if OmegaConf.select(cfg, "trainer.max_epochs", default=None) == -1 and horizon and not (max_steps and max_steps > 0):
        raise UserError(f"trainer.max_epochs=-1 (no limit) cannot be combined with a schedule that spans the "
                        f"whole run (scheduler's {horizon}); set trainer.max_epochs (or +trainer.max_steps) or choose "
                        "scheduler=step|none")
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
