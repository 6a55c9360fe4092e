"""The name a person reads for a run, short enough to be read whole wherever TensorBoard puts
it, and the full description kept beside it.

TensorBoard cuts a run's name at about 28 characters in a chart card's header, its data table
and the HParams Trial ID column; the run is <sweep dir>/<job>/<name> there. So a sweep's job is
named by the values of the keys its sweep varies (the shared overrides and Hydra's bookkeeping
dropped), the seed always and the fold last:

    sgd s0        relu s1 f2        lr=0.001 s0        hidden=[512,256] s2        baseline s0

A choice of a config group reads as its value alone where no other swept key takes that value
(`sgd`, not `optimizer=sgd`; `norm=none`, since `none` says nothing by itself); a plain value
keeps its key, shortened to its last part (`lr` for `optimizer.lr`) unless two swept keys share
it. An OFAT baseline, which sets none of the factors, is `baseline`. A single run is named the
same way by its own overrides (how it was run, e.g. `trainer.limit_train_batches`, left out).

The long form, `description`, names every differing override and the values an OFAT baseline
stands for, with the sweep and job: `optimizer=sgd seed=0 · 2026-12-06/19-45-00/3`. It is
results.json's `description` and the HParams column `run`; the short name is results.json's
`name`, the TensorBoard run (<job dir>/<name>/events...), the figures' footer and a sweep's
progress line (ablab.run.sweep_output).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

REPEAT_KEYS = ("seed", "data.fold")  # crossed with every configuration: named last
SHORT = {"data.fold": "fold"}  # as a person says it, in the long form
TAGS = {"seed": "s", "data.fold": "f"}  # the short form: s0 f2
KEY_SHORT = {"optimizer.weight_decay": "wd", "data.batch_size": "batch", "trainer.max_epochs": "epochs"}
UNSAID = {"none", "null", "default", "true", "false"}  # values that need their key to mean anything
MAX_LEN = 120


def key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def value_of(override: str) -> str:
    return override.split("=", 1)[1] if "=" in override else ""


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


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _short_keys(keys: Iterable[str]) -> dict[str, str]:
    """key -> its short form: the alias, else the last dotted part, the full key where two collide."""
    keys = list(keys)
    short = {k: KEY_SHORT.get(k, k.rsplit(".", 1)[-1]) for k in keys}
    return {k: s if list(short.values()).count(s) == 1 else k for k, s in short.items()}


def _readable(value: str) -> str:
    """A number a search sampled (0.004430375245218269) to 3 significant digits (0.00443); a value
    as typed (0.001, 128) stays as it is. The description keeps every digit."""
    if len(value) > 8 and _is_number(value) and any(c in value for c in ".eE"):
        return f"{float(value):.3g}"
    return value


def _terse(key: str, value: str, short_key: str, values_of_others: set[str]) -> str:
    """One override as the short name shows it: the value alone where it is unambiguous."""
    bare = "." not in key and not _is_number(value) and value.lower() not in UNSAID and value not in values_of_others
    return value if bare else f"{short_key}={_readable(value)}"


def _parts(overrides: Iterable[str], varied: Optional[Iterable[str]]):
    """(the job's own overrides by key, the keys that name it, its factor overrides, its repeats)."""
    last = {key_of(o): o for o in overrides if "=" in o}  # a key given twice: the later wins, as in Hydra
    own = {k: o for k, o in last.items() if not _bookkeeping(k)}
    if varied is None:
        keys = [k for k in own if not _how_run(k)]
    else:
        keys = [k for k in varied if not _bookkeeping(k)]
    factors = [own[k] for k in keys if k in own and k not in REPEAT_KEYS]
    repeats = [own[k] for k in REPEAT_KEYS if k in own and (k in keys or k == "seed")]  # the seed always
    return own, keys, factors, repeats


def display_name(overrides: Iterable[str], varied: Optional[Iterable[str]] = None,
                 baseline_of: Callable[[str], Any] = lambda key: None,
                 swept_values: Optional[dict[str, list[str]]] = None, seed: Any = None) -> str:
    """The short name. `overrides`: the job's own. `varied`: the keys its sweep varies (None: a
    single run, named by all its own overrides). `swept_values`: key -> the values the sweep gives
    it (a value that another key also takes keeps its key). `seed`: the run's seed when no
    override sets it (seed=auto's rounds set it, a single run may not)."""
    own, keys, factors, repeats = _parts(overrides, varied)
    if seed is not None and "seed" not in own:
        repeats.insert(0, f"seed={seed}")
    short_keys = _short_keys(key_of(o) for o in factors)
    values = {k: set(v) for k, v in (swept_values or {}).items()}
    for o in factors:
        values.setdefault(key_of(o), set()).add(value_of(o))
    parts = []
    for o in factors:
        key = key_of(o)
        others = set().union(*(v for k, v in values.items() if k != key)) if len(values) > 1 else set()
        parts.append(_terse(key, value_of(o), short_keys[key], others))
    if varied is not None and not factors and [k for k in keys if k not in REPEAT_KEYS]:
        parts = ["baseline"]  # an OFAT baseline: none of the factors set
    parts += [f"{TAGS[key_of(o)]}{value_of(o)}" for o in repeats]
    name = " ".join(parts) or "baseline"
    return name.replace("/", "_")[:MAX_LEN]


def description(overrides: Iterable[str], varied: Optional[Iterable[str]] = None,
                baseline_of: Callable[[str], Any] = lambda key: None, seed: Any = None) -> str:
    """The long form: every override that differs (`optimizer=sgd seed=1 fold=2`), an OFAT
    baseline with the values it stands for (`baseline (optimizer=adam) seed=1`)."""
    own, keys, factors, repeats = _parts(overrides, varied)
    if seed is not None and "seed" not in own:
        repeats.insert(0, f"seed={seed}")
    parts = [_shown(o) for o in factors]
    missing = [k for k in keys if k not in REPEAT_KEYS and k not in {key_of(o) for o in factors}]
    if varied is not None and missing and not factors:
        values = [f"{SHORT.get(k, k)}={v}" for k in missing if (v := baseline_of(k)) is not None]
        parts = [f"baseline ({', '.join(values)})" if values else "baseline"]
    return " ".join(parts + [_shown(o) for o in repeats]) or "baseline"


def swept_values(sweep_overrides: Iterable[str], params: Optional[dict] = None) -> dict[str, list[str]]:
    """key -> the values a multirun's command line (and its sweeper's `params`) sweeps, keys in
    order; a range or an interval (Optuna's) has no list of values: []."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser, swept = OverridesParser.create(), {}
    for text in [*sweep_overrides, *(f"{k}={v}" for k, v in (params or {}).items())]:
        try:
            override = parser.parse_override(text)
        except Exception:
            continue
        if override.is_sweep_override() and (key := key_of(override.get_key_element())) not in swept:
            try:
                swept[key] = [str(v) for v in override.sweep_string_iterator()]
            except Exception:
                swept[key] = []
    return swept


def swept_keys(sweep_overrides: Iterable[str], params: Optional[dict] = None) -> list[str]:
    """The keys a multirun's command line (and its sweeper's `params`) sweeps, in order."""
    return list(swept_values(sweep_overrides, params))


def varied_keys(hydra_cfg) -> list[str]:
    """The keys this job's sweep varies (none for a single run)."""
    from hydra.types import RunMode

    sweep = sweep_config(Path(hydra_cfg.sweep.dir)) if hydra_cfg.mode == RunMode.MULTIRUN else None
    if sweep is None:
        return []
    keys = [k for k in swept_keys(sweep.hydra.overrides.task, _params(sweep)) if not _bookkeeping(k)]
    if "seed" not in keys and any(o.replace("+", "") == "seed=auto" for o in sweep.hydra.overrides.task):
        keys.append("seed")  # seed=auto: the sweeper adds seeds round by round
    return keys


def job_name(hydra_cfg, seed: Any = None) -> str:
    """The short name of this process's run (HydraConfig.get()), a sweep's job or a single run;
    `seed`: the run's (cfg.seed), named when no override sets it."""
    return _named(hydra_cfg, seed)[0]


def job_description(hydra_cfg, seed: Any = None) -> str:
    """The long form of this run's name, with the sweep and job it is (`... · <date>/<time>/<job>`)."""
    from hydra.types import RunMode

    long = _named(hydra_cfg, seed)[1]
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return long
    sweep_dir = Path(hydra_cfg.sweep.dir)
    return f"{long} · {sweep_dir.parent.name}/{sweep_dir.name}/{hydra_cfg.job.num}"


def _named(hydra_cfg, seed: Any) -> tuple[str, str]:
    from hydra.types import RunMode

    overrides = list(hydra_cfg.overrides.task)
    sweep = sweep_config(Path(hydra_cfg.sweep.dir)) if hydra_cfg.mode == RunMode.MULTIRUN else None
    swept = swept_values(sweep.hydra.overrides.task, _params(sweep)) if sweep is not None else {}
    swept = {k: v for k, v in swept.items() if not _bookkeeping(k)}
    if not swept:  # a single run, or a multirun of one configuration (-m seed=0): named by its overrides
        return display_name(overrides, seed=seed), description(overrides, seed=seed)
    baseline_of = defaults_in(sweep)
    return (display_name(overrides, list(swept), baseline_of, swept, seed=seed),
            description(overrides, list(swept), baseline_of, seed=seed))


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
