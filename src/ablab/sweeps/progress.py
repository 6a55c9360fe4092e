"""How many jobs a sweep will launch, read from its multirun config before the first job,
for the `[i/n]` of each job's line (ablab.run.sweep_output)."""
from __future__ import annotations

from math import prod
from typing import Optional

from omegaconf import DictConfig, OmegaConf


def count_jobs(config: DictConfig) -> Optional[int]:
    """Jobs of the sweep `config` describes: OFAT's plan (greedy walks as many), the product of
    the swept lists (Hydra's basic sweeper), Optuna's n_trials; None when it cannot be known."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweeper = OmegaConf.select(config, "hydra.sweeper", default=None) or {}
    target = str(sweeper.get("_target_", ""))
    if "optuna" in target.lower():
        return sweeper.get("n_trials")
    params = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
    try:
        overrides = OverridesParser.create().parse_overrides(params + list(config.hydra.overrides.task))
    except Exception:
        return None
    if "ofat" in target:
        from ablab.sweeps.ofat import baseline_lookup, plan_jobs, split_overrides

        try:
            spec = split_overrides(overrides, baseline_lookup(config), sweeper.get("repeat_keys") or ("seed", "data.fold"))
        except ValueError:
            return None
        return len(plan_jobs(spec))
    if any(o.is_sweep_override() and not o.is_discrete_sweep() for o in overrides):
        return None
    return prod(len(list(o.sweep_iterator())) for o in overrides if o.is_sweep_override())
