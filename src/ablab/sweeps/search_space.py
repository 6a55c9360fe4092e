"""A search's space, written as Hydra sweep overrides, as Optuna distributions.

The `search` sweeper (hydra_plugins/ablab_sweepers/optuna_sweeper.py) reads its `params`
(conf/hparams_search/optuna.yaml) and the command line the same way, a command-line key
replacing its `params` entry:

    optimizer.lr=tag(log, interval(0.0001, 0.1))   a float, log scale   FloatDistribution(1e-4, 0.1, log=True)
    dropout=interval(0, 0.5)                        a float (always)     FloatDistribution(0.0, 0.5)
    trainer.max_epochs=range(2, 11, 2)              every listed int     IntDistribution(2, 10, step=2)
    optimizer=choice(sgd, adam)                     one of the values    CategoricalDistribution
    model=mlp                                       not a sweep: fixed for every trial

A trial's overrides are its sampled values written back as `key=value`, after the fixed ones;
a choice between lists or dicts (`model.hidden=choice([128,64],[256])`) chooses between their
texts, so Optuna stores plain values and the override is written as typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.types import Override, Transformer
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from ablab.errors import UserError


@dataclass
class SearchSpace:
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)  # overrides every trial gets, as typed

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """A trial's command line: the fixed overrides, then each sampled value."""
        return self.fixed + [f"{key}={_text(value)}" for key, value in params.items()]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def distribution(override: Override) -> BaseDistribution:
    """The distribution of one sweep override."""
    if override.is_choice_sweep() or (override.is_range_sweep() and override.value().shuffle):
        plain = (str, int, float, bool, type(None))
        values = list(override.sweep_iterator())
        return CategoricalDistribution([v if isinstance(v, plain) else Transformer.str(v) for v in values])
    if override.is_range_sweep():
        values = list(override.sweep_iterator())
        if not values:
            raise ValueError(f"optuna sweeper: '{override.input_line}' lists no value")
        step = override.value().step
        if all(isinstance(v, int) for v in values):
            return IntDistribution(values[0], values[-1], step=int(step))
        return FloatDistribution(float(values[0]), float(values[-1]), step=float(step))
    if override.is_interval_sweep():
        value = override.value()
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    raise ValueError(f"optuna sweeper: cannot search '{override.input_line}'; use choice(), range() or interval()")


def search_space(overrides: list[Override]) -> SearchSpace:
    """Sweeps become distributions, the rest fixed overrides; a later key wins, as in Hydra."""
    space = SearchSpace()
    fixed: dict[str, str] = {}
    for o in overrides:
        key = o.get_key_element()
        space.distributions.pop(key, None)
        fixed.pop(key, None)
        if o.is_sweep_override():
            space.distributions[key] = distribution(o)
        else:
            fixed[key] = o.input_line
    space.fixed = list(fixed.values())
    return space


def check_space(config: DictConfig) -> None:
    """Before a search starts: its `params` and the command line's swept keys as the sweeper will
    read them. `interval(0.5, 0.1)` or `range(5, 1)` would otherwise fail only after the sweep
    directory and the study exist; raises UserError naming the override."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = OmegaConf.to_container(config.hydra.sweeper.get("params") or {}, resolve=True)
    typed = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    for override in OverridesParser.create().parse_overrides(typed):
        if override.is_sweep_override():
            try:
                distribution(override)
            except ValueError as exc:
                raise UserError(f"hydra/sweeper=search cannot search '{override.input_line}': "
                                f"{str(exc).removeprefix('optuna sweeper: ')}") from None
