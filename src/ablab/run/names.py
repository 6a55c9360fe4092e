"""The name a person reads for a run: what differs between the jobs of its sweep.

A sweep's job is named by its overrides of the keys the sweep varies (the shared overrides
and Hydra's bookkeeping dropped), seeds and folds last: `optimizer=sgd seed=1`. An OFAT
baseline, which has none of the factors, is named by the values it stands for:
`baseline (optimizer=adam) seed=1`. A single run is named by its own overrides.

The same name is the TensorBoard run (<job dir>/<name>/events...), results.json's `name`,
the figures' footer and a sweep's progress line (ablab.run.sweep_output).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

REPEAT_KEYS = ("seed", "data.fold")  # crossed with every configuration: named last
SHORT = {"data.fold": "fold"}  # as a person says it
MAX_LEN = 120


def key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _bookkeeping(key: str) -> bool:
    return key.startswith(("hydra.", "hydra/")) or key in ("data.root", "ckpt_path")


def _how_run(key: str) -> bool:
    """How a single run was run, not what it trains: left out of its name unless a sweep varies it."""
    if key == "trainer.max_epochs":
        return False
    return key in ("trainer", "viz", "callbacks", "verbose") or key.startswith(("trainer.", "viz.", "callbacks."))


def _shown(override: str) -> str:
    key, _, value = override.lstrip("+~").partition("=")
    return f"{SHORT.get(key, key)}={value}"


def display_name(overrides: Iterable[str], varied: Optional[Iterable[str]] = None,
                 baseline_of: Callable[[str], Any] = lambda key: None) -> str:
    """`overrides`: the job's own. `varied`: the keys its sweep varies (None: a single run, named
    by all its own overrides). `baseline_of`: a factor's value when the job does not set it."""
    last = {key_of(o): o for o in overrides if "=" in o}  # a key given twice: the later wins, as in Hydra
    own = [o for o in last.values() if not _bookkeeping(key_of(o))]
    if varied is None:
        keys = [key_of(o) for o in own if not _how_run(key_of(o))]
    else:
        keys = [k for k in varied if not _bookkeeping(k)]
    factors = [o for o in own if key_of(o) in keys and key_of(o) not in REPEAT_KEYS]
    repeats = sorted((o for o in own if key_of(o) in keys and key_of(o) in REPEAT_KEYS),
                     key=lambda o: REPEAT_KEYS.index(key_of(o)))
    parts = [_shown(o) for o in factors]
    missing = [k for k in keys if k not in REPEAT_KEYS and k not in {key_of(o) for o in factors}]
    if varied is not None and missing and not factors:  # an OFAT baseline: none of the factors set
        values = [f"{SHORT.get(k, k)}={v}" for k in missing if (v := baseline_of(k)) is not None]
        parts = [f"baseline ({', '.join(values)})" if values else "baseline"]
    name = " ".join(parts + [_shown(o) for o in repeats]) or "baseline"
    return name.replace("/", "_")[:MAX_LEN]


def swept_keys(sweep_overrides: Iterable[str], params: Optional[dict] = None) -> list[str]:
    """The keys a multirun's command line (and its sweeper's `params`) sweeps, in order."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, keys = OverridesParser.create(), []
    for text in [*sweep_overrides, *(f"{k}={v}" for k, v in (params or {}).items())]:
        try:
            override = parser.parse_override(text)
        except Exception:
            continue
        if override.is_sweep_override() and (key := key_of(override.get_key_element())) not in keys:
            keys.append(key)
    return keys


def varied_keys(hydra_cfg) -> list[str]:
    """The keys this job's sweep varies (none for a single run)."""
    from hydra.types import RunMode

    sweep = sweep_config(Path(hydra_cfg.sweep.dir)) if hydra_cfg.mode == RunMode.MULTIRUN else None
    if sweep is None:
        return []
    return [k for k in swept_keys(sweep.hydra.overrides.task, _params(sweep)) if not _bookkeeping(k)]


def job_name(hydra_cfg) -> str:
    """The display name of this process's run (HydraConfig.get()), a sweep's job or a single run."""
    from hydra.types import RunMode

    overrides = list(hydra_cfg.overrides.task)
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return display_name(overrides)
    sweep = sweep_config(Path(hydra_cfg.sweep.dir))
    if sweep is None:
        return display_name(overrides)
    varied = [k for k in swept_keys(sweep.hydra.overrides.task, _params(sweep)) if not _bookkeeping(k)]
    if not varied:  # a multirun of one configuration (e.g. -m seed=0): named as a single run would be
        return display_name(overrides)
    return display_name(overrides, varied, defaults_in(sweep))


def sweep_config(sweep_dir: Path):
    """The sweep's multirun.yaml (its command line and defaults), or None. Read once per file
    version: every job of a sweep names itself from it (~70 ms a parse on a 2-core CPU)."""
    path = Path(sweep_dir) / "multirun.yaml"
    try:
        return _parsed(str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        return None


@functools.lru_cache(maxsize=4)
def _parsed(path: str, mtime_ns: int):
    from omegaconf import OmegaConf

    try:
        return OmegaConf.load(path)
    except Exception:
        return None


def _params(sweep) -> dict:
    from omegaconf import OmegaConf

    params = OmegaConf.select(sweep, "hydra.sweeper.params", default=None)
    return {str(k): str(v) for k, v in OmegaConf.to_container(params).items()} if params else {}


def defaults_in(config, unknown: Any = None) -> Callable[[str], Any]:
    """Default of a key in a composed multirun config (sweep overrides are not applied there):
    the group choice from hydra.runtime.choices, else the plain value; `unknown` where there is
    none to read (a node, an interpolation that only resolves inside a job). The OFAT sweeper
    (ablab.report.defaults.baseline_lookup) and the baseline's display name both read it."""
    from omegaconf import OmegaConf

    choices = OmegaConf.to_container(config.hydra.runtime.choices) if "hydra" in config else {}

    def default_of(key: str) -> Any:
        if key in choices:
            return choices[key]
        try:
            value = OmegaConf.select(config, key, default=unknown, throw_on_missing=False)
        except Exception:  # an interpolation that only resolves inside a job
            return unknown
        return value if value is None or isinstance(value, (str, int, float, bool)) else unknown

    return default_of
