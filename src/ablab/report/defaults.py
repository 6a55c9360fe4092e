"""A swept key's default in a sweep's composed config, and whether an override's value is it.

The default is what a report compares every value of a factor against (ablab.report.table), the
OFAT sweeper's baseline (ablab.sweeps.ofat) and what a study leaves out of its later stages
(ablab.study.plan). UNKNOWN stands for a key with no knowable default (`+new=1,2`).
"""
from __future__ import annotations

from typing import Any, Callable

from omegaconf import DictConfig

UNKNOWN = object()  # the baseline has no knowable value for a key (e.g. `+new=1,2`)


def same_typed(typed: Any, text: str, default: Any) -> bool:
    """Whether a value Hydra typed from `text` is `default`: group choices are strings; 0 and 0.0
    are the same dropout, but True is not 1."""
    if isinstance(typed, bool) or isinstance(default, bool):
        return typed is default
    if isinstance(typed, (int, float)) and isinstance(default, (int, float)):
        return float(typed) == float(default)
    return typed == default or (isinstance(default, str) and text == default)


def same_value(text: str, default: Any) -> bool:
    """Whether an override's value, as written in a job's overrides.yaml, is `default`
    (typed the way Hydra types it, so `dropout=0` is the default 0.0)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        typed = OverridesParser.create().parse_override(f"key={text}").value()
    except Exception:  # not a plain value (a sweep, a function call): compare the text
        typed = text
    return same_typed(typed, text, default)


def baseline_lookup(config: DictConfig) -> Callable[[str], Any]:
    """Default of a key in the composed multirun config, UNKNOWN where there is none."""
    from ablab.run.names import defaults_in

    return defaults_in(config, UNKNOWN)
