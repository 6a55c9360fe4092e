"""Schema of conf/train.yaml's own keys: the factors and switches that are values, not groups."""
from pathlib import Path

from omegaconf import DictConfig

from ablab.errors import UserError
from ablab.schema.rules import Schema, boolean, integer, number


def _checkpoint_exists(cfg: DictConfig) -> None:
    if cfg.get("ckpt_path") and not Path(cfg.ckpt_path).is_file():
        raise UserError(f"ckpt_path={cfg.ckpt_path!r}: no such checkpoint file")


SCHEMA = Schema(
    keys={
        "dropout": number(ge=0, lt=1),
        "seed": integer(ge=0),
        "compile": boolean(),
        "verbose": boolean(),
    },
    checks=(_checkpoint_exists,),
)
