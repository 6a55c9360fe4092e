"""What each stage of a study runs: its train.py -m command line and its list of jobs.

The jobs are planned by the same code the sweeps use (ablab.sweeps.ofat for OFAT and
greedy stages, the cartesian product of the values for a grid, as Hydra's basic sweeper
does), so a dry run lists what a real run launches. Before anything runs, each stage's
baseline and each swept value on it are composed with Hydra and checked by
ablab.schema, so a mistake anywhere in a study is one line before the first job.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product
from typing import Callable, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Transformer

from ablab.errors import UserError
from ablab.report.collect import Run
from ablab.report.table import REPEAT_KEYS, key_of  # seeds and folds: crossed with every configuration
from ablab.study.spec import Stage, Study



AUTO_MIN_SEEDS = 3  # the OFAT sweeper's hydra.sweeper.min_seeds default


@dataclass
class Plan:
    stage: Stage
    fixed: list[str]  # overrides every job of the stage gets
    jobs: list[list[str]]  # per job, the overrides beyond `fixed` (placeholders for unknown winners)


def configuration(stage: Stage, run: Run) -> frozenset[str]:
    """A run's overrides of the keys its stage sweeps (seeds and folds aside): its configuration."""
    keys = set(stage.sweep) - set(REPEAT_KEYS)
    return frozenset(o for o in run.overrides if key_of(o) in keys)


def merged(*groups: list[str]) -> list[str]:
    """Overrides in order, a later one replacing an earlier one of the same key."""
    by_key: dict[str, str] = {}
    for group in groups:
        for o in group:
            by_key.pop(key_of(o), None)
            by_key[key_of(o)] = o
    return list(by_key.values())


def pinned(stage: Stage, extra: list[str]) -> Stage:
    """The stage with the keys the user's overrides set taken out of its sweep: the user's
    value wins for every job (e.g. data.fold=0 runs one fold of a cross-validated study)."""
    keys = {key_of(o) for o in extra}
    return replace(stage, sweep={k: v for k, v in stage.sweep.items() if k not in keys})


def auto_seeds(stage: Stage) -> Stage:
    """`--seeds auto`: an OFAT or greedy stage leaves its seeds to the sweeper (seed=auto, which adds
    seeds only where a verdict is undecided); its folds stay swept (repeated k-fold). A grid stage
    keeps the seeds it lists: Hydra's basic sweeper has no rounds."""
    if stage.predict is not None or stage.sweeper == "grid":
        return stage
    return replace(stage, sweep={k: v for k, v in stage.sweep.items() if k != "seed"}, auto_seeds=True)


def fixed_overrides(study: Study, stage: Stage, carried: list[str], extra: list[str]) -> list[str]:
    """A stage's shared overrides: the study's, the carried winners, the stage's, the user's;
    minus the keys the stage sweeps (the sweep sets those)."""
    fixed = merged(study.every_job, carried, stage.overrides, extra)
    return [o for o in fixed if key_of(o) not in stage.sweep]


def sweeper_overrides(study: Study, stage: Stage) -> list[str]:
    if stage.sweeper == "grid":
        return []
    found = ["hydra/sweeper=ofat", f"hydra.sweeper.metric={study.metric}", f"hydra.sweeper.mode={study.mode}"]
    found += ["seed=auto"] if stage.auto_seeds else []
    return found + (["hydra.sweeper.greedy=true"] if stage.sweeper == "greedy" else [])


def command(study: Study, stage: Stage, carried: list[str], extra: list[str]) -> list[str]:
    """The arguments after `train.py -m` (the sweep directory is added by the runner)."""
    sweep = [f"{k}={_as_sweep(k, v) if stage.sweeper != 'grid' else v}" for k, v in stage.sweep.items()]
    return fixed_overrides(study, stage, carried, extra) + sweeper_overrides(study, stage) + sweep


def _as_sweep(key: str, values: str) -> str:
    """An OFAT factor with one value is still a factor (Hydra's one-element `choice(...)`),
    not an override of every job, baseline included."""
    return values if len(_values(key, values)) > 1 or "(" in values else f"choice({values})"


def _values(key: str, values: str) -> list[str]:
    try:
        override = OverridesParser.create().parse_override(f"{key}={values}")
    except Exception as exc:
        raise UserError(f"cannot read the sweep {key}={values}: {str(exc).splitlines()[0]}") from None
    if not override.is_sweep_override():
        return [override.get_value_element_as_str()]
    return [Transformer.str(v) for v in override.sweep_iterator()]


def jobs(stage: Stage, default_of: Callable[[str], object]) -> list[list[str]]:
    """Per job, the overrides it adds to the stage's fixed ones."""
    swept = {k: _values(k, v) for k, v in stage.sweep.items()}
    repeats = [[f"{k}={v}" for v in vs] for k, vs in swept.items() if k in REPEAT_KEYS]
    if stage.auto_seeds:  # the first round's seeds; seed=auto adds more where a verdict is undecided
        repeats.insert(0, [f"seed={s}" for s in range(AUTO_MIN_SEEDS)])
    factors = [(k, vs) for k, vs in swept.items() if k not in REPEAT_KEYS]
    if stage.sweeper == "grid":
        # Hydra's basic sweeper: the product of every swept key, seeds and folds included, in order.
        return [list(p) for p in product(*[[f"{k}={v}" for v in vs] for k, vs in swept.items()])] or [[]]
    from ablab.sweeps.ofat import same_value

    configs: list[list[str]] = [[]]  # the baseline
    for i, (key, values) in enumerate(factors):
        earlier = [f"{k}=<best>" for k, _ in factors[:i]] if stage.sweeper == "greedy" else []
        configs += [earlier + [f"{key}={v}"] for v in values if not same_value(v, default_of(key))]
    return [config + list(rep) for config in configs for rep in product(*repeats)]


def check(study: Study, stage: Stage, fixed: list[str], seen: Optional[set] = None,
          composed: Optional[list] = None) -> Callable[[str], object]:
    """Compose the stage's baseline and check each swept value on it (a config group's
    choice by composing it, once per study in `seen`; a plain value on the composed
    baseline); return the baseline's defaults (what an OFAT stage compares against).
    Every config composed is appended to `composed` (for the study's data check)."""
    from omegaconf import OmegaConf

    from ablab.sweeps.ofat import baseline_lookup
    from ablab.schema import validate

    seen = set() if seen is None else seen
    composed = [] if composed is None else composed
    base = _composed(study, stage, fixed, None)
    composed.append(base)
    groups = set(OmegaConf.to_container(base.hydra.runtime.choices))
    for key, values in stage.sweep.items():
        for value in _values(key, values):
            trying = f"{key}={value}"
            if key in groups:
                if (key, value) not in seen:
                    composed.append(_composed(study, stage, merged(fixed, [trying]), trying))
                    seen.add((key, value))
                continue
            cfg = base.copy()
            try:
                OmegaConf.update(cfg, key, OverridesParser.create().parse_override(trying).value(), merge=False)
                validate(cfg)
            except UserError as exc:
                raise UserError(f"study {study.name}, stage {stage.name} ({trying}): {exc}") from None
            except Exception as exc:
                raise UserError(f"study {study.name}, stage {stage.name} ({trying}): {str(exc).splitlines()[0]}") from None
    return baseline_lookup(base)


def _composed(study: Study, stage: Stage, overrides: list[str], trying: Optional[str]):
    from hydra import compose, initialize_config_dir
    from omegaconf.errors import OmegaConfBaseException

    from ablab.cli.added_keys import refuse_added
    from ablab.cli.hints import explain
    from ablab.paths import CONF_DIR
    from ablab.schema import validate, validate_plugins

    where = f"study {study.name}, stage {stage.name}" + (f" ({trying})" if trying else "")
    # The stage's sweeper as its sweep will have it (seed=auto is the sweeper's, checked as seed 0),
    # so its keys are checked with the rest, as are keys added with +key=... (before any stage runs).
    plugin = [o for o in sweeper_overrides(study, stage) if o != "seed=auto"]
    try:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose("train", plugin + overrides, return_hydra_config=True)
            refuse_added(cfg, "train")
        validate(cfg)
        validate_plugins(cfg)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    except (OmegaConfBaseException, Exception) as exc:  # Hydra's composition errors are several kinds
        raise UserError(f"{where}: {explain(exc)}") from None
    return cfg
