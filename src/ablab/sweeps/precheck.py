"""Before a sweep's first job: every job's values through the schemas, and every dataset the
jobs use found and opened once. A mistake is one line and exit code 2 for the whole sweep,
before any job directory exists, instead of a failure per job after the good jobs trained.

The jobs are the ones the sweeper will launch, as far as they are known before it starts:
the basic sweeper's grid, the OFAT plan (greedy too: each value against the baseline; the
winners it carries are checked values already), Optuna's `choice`/`range` values one at a
time (its continuous ranges are sampled, and checked in the job). Composing a config costs
~0.15 s, so a configuration of group choices is composed once and each job's plain values
are applied to a copy of it: a 100-job sweep is checked in well under a second.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Optional

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from ablab import upstream
from ablab.errors import UserError
# SEARCH (Optuna): processes given one sweep directory are workers of its one study (ablab.sweeps.search),
# each trial in its own job directory, so the directory is not locked to one of them.
from ablab.schema.sweeper import BASIC, OFAT, SEARCH


def planned_jobs(config: DictConfig) -> list[list[str]]:
    """The overrides of every job `config`'s multirun will launch, each as typed."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweeper = config.hydra.sweeper
    target = str(sweeper.get("_target_", ""))
    params = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
    typed = params + list(config.hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(typed)
    if target == BASIC:
        return [job for batch in upstream.basic_sweeper().split_arguments(parsed, None) for job in batch]
    if target == OFAT:
        from ablab.report.defaults import baseline_lookup
        from ablab.sweeps.ofat import plan_jobs, split_overrides

        return plan_jobs(split_overrides(parsed, baseline_lookup(config), list(sweeper.repeat_keys)))
    # Another sweeper (Optuna): the values it may choose, one at a time on the fixed overrides.
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    jobs = [fixed]
    for override in parsed:
        if override.is_sweep_override() and not override.is_interval_sweep():
            jobs += [fixed + [f"{override.get_key_element()}={value}"]
                     for value in override.sweep_string_iterator()]
    return jobs


def check_jobs(jobs: Iterable[list[str]], compose: Callable[[list[str]], DictConfig],
               validate: Callable[[DictConfig], None], is_group: Callable[[str], bool],
               check_added: Optional[Callable[[DictConfig, str, str], None]] = None) -> list[DictConfig]:
    """Check each job's config: composed once per distinct set of group choices, the job's plain
    values set on it for the check and put back after (a copy per job would cost more than the
    check). A key a job adds (`+key=a,b`) goes to `check_added(cfg, key, override)` first. Raises
    UserError at the first bad value; returns one job's config per distinct dataset."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    composed: dict[tuple[str, ...], DictConfig] = {}
    datasets: dict[str, DictConfig] = {}
    for job in jobs:
        overrides = [o for o in parser.parse_overrides(list(job)) if not o.key_or_group.startswith("hydra")]
        groups = tuple(o.input_line for o in overrides if is_group(o.key_or_group))
        if groups not in composed:
            composed[groups] = compose(list(groups))
        plain = [o for o in overrides if not is_group(o.key_or_group) and not o.is_delete()]
        cfg = composed[groups]
        if any(o.is_add() or o.is_force_add() for o in plain):
            cfg = cfg.copy()  # a key this job adds must not stay in the shared config
        with _values_set(cfg, plain) as new:
            for key, given in new:
                if check_added is not None:
                    check_added(cfg, key, given)
            validate(cfg)
            dataset = _dataset_key(cfg)
            if dataset not in datasets:
                datasets[dataset] = cfg.copy()
    return list(datasets.values())


@contextmanager
def _values_set(cfg: DictConfig, overrides: list):
    """`cfg` with each override's value set (open for +key=...), the earlier values back after;
    yields the keys that were not there before, each with its override."""
    earlier, new = [], []
    try:
        with open_dict(cfg):
            for o in overrides:
                key = o.key_or_group
                before = _raw(cfg, key)
                if before is _ABSENT and not (o.is_add() or o.is_force_add()):
                    raise UnknownKey(key)
                earlier.append((key, before))
                if before is _ABSENT:
                    new.append((key, o.input_line))
                try:
                    OmegaConf.update(cfg, key, o.value(), merge=False)
                except Exception as exc:  # a value of the wrong kind for its node
                    raise UserError(f"{o.input_line}: {str(exc).splitlines()[0]}") from None
        yield new
    finally:
        with open_dict(cfg):
            for key, value in reversed(earlier):
                if value is not _ABSENT:
                    OmegaConf.update(cfg, key, value, merge=False)


class UnknownKey(UserError):
    """A swept key the config does not have (the caller words it, with a did-you-mean)."""

    def __init__(self, key: str):
        super().__init__(f"unknown config key '{key}'")
        self.key = key


_ABSENT = object()


def _raw(cfg: DictConfig, key: str):
    """The value at `key` as written (an interpolation unresolved), or _ABSENT."""
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key, default=None) if parent_key else cfg
    if not isinstance(parent, DictConfig) or leaf not in parent:
        return _ABSENT
    node = upstream.node_of(parent, leaf)
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=False)
    return upstream.value_as_written(node)


_opened: set = set()  # datasets this process has opened: a study's stages do not open them again


def open_datasets(configs: Iterable[DictConfig], build_datamodule: Callable[[DictConfig], object]) -> int:
    """Find (or download), decode and split every distinct dataset of `configs` once, as a job
    would before training (a DataError or UserError names the path); how many were opened.
    The decoded images land in ablab's data cache, so the jobs then start from it."""
    opened = 0
    for cfg in configs:
        key = _dataset_key(cfg)
        if key in _opened:
            continue
        datamodule = build_datamodule(cfg)
        datamodule.setup("fit")
        del datamodule  # the jobs load their own copy (from the cache): hold no second one
        _opened.add(key)
        opened += 1
    return opened


def _dataset_key(cfg: DictConfig) -> Optional[str]:
    """What picks the images: the data module and its options, less batching and which fold."""
    data = OmegaConf.to_container(cfg.data, resolve=False) if cfg.get("data") is not None else {}
    skipped = ("batch_size", "eval_batch_size", "fold", "num_workers")
    return repr(sorted((k, repr(v)) for k, v in data.items() if k not in skipped))


def count_jobs(config: DictConfig) -> tuple[Optional[int], bool]:
    """How many jobs the sweep will launch, for the `[k/N]` of each job's line
    (ablab.run.sweep_output), and whether that is a bound: the planned jobs, Optuna's n_trials;
    with seed=auto at most every configuration at `max_seeds` (bound); None when the plan
    cannot be read."""
    sweeper = config.hydra.sweeper
    if str(sweeper.get("_target_", "")) == SEARCH:
        return sweeper.get("n_trials"), False
    try:
        jobs = len(planned_jobs(config))  # seed=auto is a plain value here: one job per configuration
    except Exception:  # a sweep this cannot plan (a sweeper of another kind): no total shown
        return None, False
    if config.get("seed") == "auto":
        return jobs * int(sweeper.get("max_seeds") or 1), True
    return jobs, False