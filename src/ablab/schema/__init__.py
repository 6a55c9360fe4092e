"""Config checks, one schema per config group: `ablab/schema/<group>.py` checks `conf/<group>/`.

Each group's module holds a `SCHEMA` (ablab.schema.rules): the rules of its keys, the keys
only some of its options take, and the checks across values. `validate` applies them to
a composed config, group by group, and the first mistake is one UserError line naming
key, value and what is allowed. It runs before anything heavy: in Hydra's callback
(ablab.cli.check.CheckConfig) before the run directory exists, for every job of a sweep
before the first one starts, and again in each job. No torch is imported here.

What needs the data or the machine is checked where it is known: a long-tail step's
classes against the class count (ablab.data.longtail_options), CNN blocks against the
image size (ablab.models.cnn), a GPU's presence (ablab.run.devices).
"""
from importlib import import_module

from omegaconf import DictConfig

from ablab.schema.model import activation_names

__all__ = ["CONFIGS", "activation_names", "schema", "validate", "validate_plugins"]  # activation_names: for ablab.factors.build

# Each primary config: its own keys' schema first, then the groups it composes.
CONFIGS = {
    "train": ("train", "data", "model", "optimizer", "scheduler", "activation", "norm", "regularizer", "loss",
              "init", "augment", "sampler", "trainer", "callbacks", "viz"),
    "predict": ("predict",),
    "eval": ("eval", "data", "trainer", "viz"),
}


def schema(name: str):
    return import_module(f"ablab.schema.{name}").SCHEMA


def validate(cfg: DictConfig, config: str = "train") -> None:
    """Check `cfg`, composed from conf/<config>.yaml; raise UserError at the first mistake."""
    own, *groups = CONFIGS[config]
    schema(own).check_node(cfg, "")
    for group in groups:
        node = cfg.get(group)
        if node is not None:  # viz=none and eval's data=null leave the group empty
            schema(group).check_node(node, f"{group}.")
    for name in (own, *groups):
        if name == own or cfg.get(name) is not None:
            for check in schema(name).checks:
                check(cfg)


def validate_plugins(config: DictConfig) -> None:
    """Check a sweep's `hydra.sweeper` and `hydra.launcher` (ablab's own plugins and the ones it
    configures); raise UserError at the first mistake."""
    for group in ("sweeper", "launcher"):
        node = config.hydra.get(group)
        if node is not None:
            schema(group).check_node(node, f"hydra.{group}.")
            for check in schema(group).checks:
                check(config)
