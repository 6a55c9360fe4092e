"""A config group's option as a run composes it: through Hydra, so an option whose file is only
a defaults list (activation/swish.yaml is activation/silu.yaml) is loaded as what it aliases."""
import copy
from functools import lru_cache
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

CONF = Path(__file__).resolve().parents[1] / "conf"


def option(group: str, name: str) -> DictConfig:
    return copy.deepcopy(_composed(group, name))


@lru_cache(maxsize=None)
def _composed(group: str, name: str) -> DictConfig:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose(f"{group}/{name}")[group]
