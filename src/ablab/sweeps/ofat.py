"""One-factor-at-a-time (OFAT) sweeps: which jobs to run and which value wins.

Pure logic, no launching: the `ofat` Hydra sweeper (hydra_plugins/ablab_sweepers)
turns the command line into a `SweepSpec` with `split_overrides`, then either runs
`plan_jobs(spec)` as one sweep or walks a `GreedySearch` factor by factor, feeding it
scores from `score_of`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

from hydra.core.override_parser.types import Override, Transformer
from omegaconf import DictConfig

from ablab.report.defaults import UNKNOWN, same_typed



@dataclass(frozen=True)
class Factor:
    key: str  # the override key as typed: "optimizer", "dropout", "+extra"
    values: tuple[str, ...]  # listed values in the order given
    default: Optional[str] = None  # the listed value that equals the baseline's

    def override(self, value: str) -> str:
        return f"{self.key}={value}"

    @property
    def trials(self) -> list[str]:
        """Listed values that need a job: the baseline job already covers the default."""
        return [v for v in self.values if v != self.default]


@dataclass
class SweepSpec:
    common: list[str]  # applied to every job, baseline included
    factors: list[Factor]
    # Cartesian product of the repeat keys (seed, fold): every OFAT job runs once per entry.
    repeats: list[list[str]] = field(default_factory=lambda: [[]])

    def expand(self, job: list[str]) -> list[list[str]]:
        return [job + rep for rep in self.repeats]


def split_overrides(
    overrides: Iterable[Override],
    default_of: Callable[[str], Any] = lambda key: UNKNOWN,
    repeat_keys: Iterable[str] = ("seed", "data.fold"),
) -> SweepSpec:
    """Common overrides, factors (swept keys, in order) and repeat sweeps (seed, fold)."""
    repeat_keys = set(repeat_keys)
    by_key: dict[str, tuple[str, Any]] = {}  # a later override of a key wins, as in Hydra
    for o in overrides:
        key = o.get_key_element()
        if not o.is_sweep_override():
            by_key[key] = ("common", f"{key}={o.get_value_element_as_str()}")
            continue
        if not o.is_discrete_sweep():
            raise ValueError(f"ofat sweeper: cannot enumerate '{o.input_line}'; use a list or range()")
        typed = list(o.sweep_iterator())  # once: shuffle() must not reorder twice
        texts = [Transformer.str(v) for v in typed]
        if o.key_or_group in repeat_keys:
            by_key[key] = ("repeat", [f"{key}={t}" for t in texts])
            continue
        name = o.key_or_group if o.package is None else f"{o.key_or_group}@{o.package}"
        default = UNKNOWN if o.is_add() else default_of(name)
        match = None
        if default is not UNKNOWN:
            match = next((t for v, t in zip(typed, texts) if same_typed(v, t, default)), None)
        by_key[key] = ("factor", Factor(key, tuple(texts), match))
    kinds = list(by_key.values())
    return SweepSpec(
        common=[v for kind, v in kinds if kind == "common"],
        factors=[v for kind, v in kinds if kind == "factor"],
        repeats=[list(p) for p in product(*[v for kind, v in kinds if kind == "repeat"])],
    )


def plan_jobs(spec: SweepSpec) -> list[list[str]]:
    """Plain OFAT: the baseline, then each factor's values with every other factor at baseline."""
    jobs = [list(spec.common)]
    jobs += [spec.common + [f.override(v)] for f in spec.factors for v in f.trials]
    return [run for job in jobs for run in spec.expand(job)]


def better(score: Optional[float], than: Optional[float], mode: str) -> bool:
    """Strictly better, so ties keep the incumbent; a missing score never wins."""
    if mode not in ("max", "min"):
        raise ValueError(f"ofat sweeper: mode must be max or min, got {mode!r}")
    if score is None:
        return False
    return than is None or (score > than if mode == "max" else score < than)


def _lookup(tree: Any, path: str) -> Optional[float]:
    for part in path.split("."):
        if not isinstance(tree, (Mapping, DictConfig)) or part not in tree:
            return None
        tree = tree[part]
    if isinstance(tree, bool) or not isinstance(tree, (int, float)) or not math.isfinite(tree):
        return None
    return float(tree)


def score_of(return_value: Any, working_dir: Optional[str], metric: str) -> Optional[float]:
    """The metric of one job: from its results.json (the run contract) when there is one,
    where anything but status completed scores None; else from the task's return value
    (a number, or a mapping holding the dotted metric path)."""
    results = Path(working_dir or ".") / "results.json"
    if working_dir and results.is_file():
        try:
            data = json.loads(results.read_text())
        except (OSError, ValueError):
            return None
        return _lookup(data, metric) if data.get("status") == "completed" else None
    if isinstance(return_value, (int, float)) and not isinstance(return_value, bool):
        return float(return_value) if math.isfinite(return_value) else None
    return _lookup(return_value, metric)
