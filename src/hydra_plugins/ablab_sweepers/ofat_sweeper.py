"""The `ofat` Hydra sweeper: one factor at a time instead of the cartesian product.

    python train.py -m hydra/sweeper=ofat optimizer=sgd,adam dropout=0,0.1,0.5

runs the baseline (no swept override applied) once, then each listed value with every
other factor at baseline. `hydra.sweeper.greedy=true` walks the factors in order and
carries each winner (by `metric`/`mode`; with repeats only a gain significant at `alpha`)
into the next factor; the chosen configuration
is logged and saved to <sweep dir>/ofat_best.yaml. Keys in `repeat_keys` (seed, fold)
are crossed with every job instead of being factors. The planning lives in
ablab.sweeps; this class only parses, launches and collects.

`seed=auto` leaves the number of seeds to the sweeper (ablab.sweeps.auto): every
configuration starts with `min_seeds` seeds and only those whose comparison is still
undecided get one more, until decided or `max_seeds`; <sweep dir>/seed_auto.yaml records
the rule and each row's seeds for the report.
"""
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
AUTO = "seed=auto"  # leave the number of seeds to the sweeper (hydra.sweeper.min_seeds .. max_seeds)


@dataclass
class OFATSweeperConf:
    _target_: str = "hydra_plugins.ablab_sweepers.ofat_sweeper.OFATSweeper"
    max_batch_size: Optional[int] = None  # jobs per launcher call; None = a whole step
    greedy: bool = False
    metric: str = "val.acc"  # dotted path into results.json (or the task's return value)
    mode: str = "max"  # max | min
    alpha: float = 0.05  # error rate of each family of verdicts (the sweep; a greedy step)
    correction: str = "holm"  # holm | bh | none, over the family
    min_effect: float = 0.5  # δ in points (0.01 of the metric): inside ±δ is equivalent
    min_seeds: int = 3  # seed=auto: seeds every configuration starts with
    max_seeds: int = 10  # seed=auto: at most this many seeds per configuration
    repeat_keys: List[str] = field(default_factory=lambda: ["seed", "data.fold"])
    params: Optional[Dict[str, str]] = None  # sweeps written in config, as for `basic`


ConfigStore.instance().store(group="hydra/sweeper", name="ofat", node=OFATSweeperConf, provider="ablab")


class OFATSweeper(Sweeper):
    def __init__(self, max_batch_size: Optional[int] = None, greedy: bool = False,
                 metric: str = "val.acc", mode: str = "max", alpha: float = 0.05, correction: str = "holm",
                 min_effect: float = 0.5, min_seeds: int = 3, max_seeds: int = 10,
                 repeat_keys: Sequence[str] = ("seed", "data.fold"),
                 params: Optional[Dict[str, str]] = None) -> None:
        self.max_batch_size, self.greedy = max_batch_size, greedy
        self.metric, self.mode, self.alpha = metric, mode, alpha
        self.correction, self.min_effect = correction, min_effect
        self.min_seeds, self.max_seeds = min_seeds, max_seeds
        self.repeat_keys = list(repeat_keys)
        self.params = dict(params or {})
        self.hydra_context: Optional[HydraContext] = None
        self.config: Optional[DictConfig] = None
        self.launcher = None
        self._job_idx = 0
        self._failures: List[JobReturn] = []

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        # Imported here, not at module level: Hydra imports every plugin at start-up.
        from ablab.sweeps.greedy import GreedySearch
        from ablab.report.defaults import baseline_lookup
        from ablab.sweeps.ofat import plan_jobs, split_overrides

        assert self.config is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{k}={v}" for k, v in self.params.items()]
        given = params + list(arguments)
        from ablab.report.stats import CORRECTIONS

        if self.correction not in CORRECTIONS:  # before anything is launched
            raise ValueError(f"ofat sweeper: correction must be one of {', '.join(CORRECTIONS)}, "
                             f"got {self.correction!r}")
        auto = AUTO in given
        if auto and not 2 <= self.min_seeds <= self.max_seeds:
            raise ValueError(f"ofat sweeper: seed=auto needs 2 <= min_seeds <= max_seeds, got "
                             f"{self.min_seeds} and {self.max_seeds}")
        spec = split_overrides(parser.parse_overrides([a for a in given if a != AUTO]),
                               baseline_lookup(self.config), self.repeat_keys)
        seeds = (self.min_seeds, self.max_seeds) if auto else None
        delta = self.min_effect / 100
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        for f in spec.factors:
            if f.default is not None:
                log.info(f"OFAT: {f.override(f.default)} is the baseline; not run twice")

        if not self.greedy and not auto:
            returns = [self._launch(plan_jobs(spec))]
        elif not self.greedy:
            returns = self._auto_ofat(spec, seeds, delta, sweep_dir)
        else:
            search, returns = GreedySearch(spec, self.mode, self.alpha, self.correction, delta, seeds), []
            while not search.done():
                results, told = self._launch(search.next_batch()), len(search.steps)
                search.tell([self._score(r) for r in results], [self._ratio(r) for r in results])
                returns.append(results)
                for step in search.steps[told:]:  # say why each factor's value was kept
                    log.info(f"OFAT greedy: {step['factor']}={step['winner']}"
                             + (f" ({step['note']})" if step["note"] else ""))
            best = search.summary(self.metric)
            OmegaConf.save(OmegaConf.create(best), sweep_dir / "ofat_best.yaml")
            if auto:
                self._save_auto(sweep_dir, seeds, [{"factor": s["factor"], **s["tests"]} for s in search.steps])
            log.info(f"OFAT greedy best ({self.metric}={best['score']}, {self.mode}): "
                     f"{' '.join(best['overrides']) or '(baseline)'} -> {sweep_dir / 'ofat_best.yaml'}")
        if self._failures:
            # Like the basic sweeper, surface a failed job, but only after every step ran.
            log.error(f"OFAT: {len(self._failures)} job(s) failed")
            _ = self._failures[0].return_value  # raises the job's exception
        return returns

    def _auto_ofat(self, spec: Any, seeds: Any, delta: float, sweep_dir: Path) -> List[List[JobReturn]]:
        """seed=auto on a plain OFAT sweep: one family, the baseline and every value on it."""
        from ablab.sweeps.auto import Arm, SeedRounds

        arms = [Arm(list(spec.common), None)]
        labels = ["(baseline)"]
        for f in spec.factors:
            for v in f.trials:
                arms.append(Arm(spec.common + [f.override(v)], 0))
                labels.append(f.override(v))
        rounds = SeedRounds(arms, spec.repeats, seeds, self.alpha, self.correction, self.mode, delta)
        returns = []
        while True:
            jobs = rounds.next_batch()
            if not jobs:
                break
            results = self._launch(jobs)
            rounds.tell([(self._score(r), self._ratio(r)) for r in results])
            returns.append(results)
            open_ = [labels[i] for i, c in enumerate(rounds.comparisons) if c is not None and c.verdict == "undecided"]
            log.info(f"OFAT seed=auto: round {rounds.rounds}, {len(jobs)} jobs; {undecided(open_)}")
        self._save_auto(sweep_dir, seeds, rounds.record(labels), rounds.rounds)
        return returns

    def _save_auto(self, sweep_dir: Path, seeds: Any, rows: List[dict], rounds: Optional[int] = None) -> None:
        """seed_auto.yaml: what the report reads to replay the looks, and each row's seeds."""
        from ablab.report.sequential import RULE, levels
        from ablab.report.stats import looks

        record = {"min_seeds": seeds[0], "max_seeds": seeds[1], "looks": looks(*seeds), "alpha": self.alpha,
                  "rule": RULE, "alpha_looks": [round(x, 6) for x in levels(seeds[0], seeds[1], self.alpha)],
                  "rows": rows}
        if rounds is not None:
            record["rounds"] = rounds
        OmegaConf.save(OmegaConf.create(record), sweep_dir / "seed_auto.yaml")

    def _ratio(self, result: JobReturn) -> Optional[float]:
        """n_val / n_train of a job that ran a fold (results.json's val_size, train_class_counts)."""
        import json

        out = OmegaConf.select(result.hydra_cfg, "hydra.runtime.output_dir") if result.hydra_cfg else None
        path = Path(out or result.working_dir or ".") / "results.json"
        try:
            data = json.loads(path.read_text())
            train = sum(data["train_class_counts"].values())
            return float(data["val_size"]) / train if train else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _launch(self, jobs: List[List[str]]) -> List[JobReturn]:
        from ablab.run import stop

        assert self.launcher is not None
        size = self.max_batch_size or len(jobs) or 1
        results: List[JobReturn] = []
        for start in range(0, len(jobs), size):
            batch = jobs[start:start + size]
            stop.check()  # a stop signal ends the sweep here: no batch, round or greedy step starts after it
            self.validate_batch_is_legal(batch)  # fail on composition errors before running
            results += self.launcher.launch(batch, initial_job_idx=self._job_idx)
            self._job_idx += len(batch)
        self._failures += [r for r in results if r.status == JobStatus.FAILED]
        return results

    def _score(self, result: JobReturn) -> Optional[float]:
        from ablab.sweeps.ofat import score_of

        value = result._return_value if result.status == JobStatus.COMPLETED else None
        # working_dir is the launch cwd unless hydra.job.chdir; results.json is in output_dir.
        out = OmegaConf.select(result.hydra_cfg, "hydra.runtime.output_dir") if result.hydra_cfg else None
        return score_of(value, out or result.working_dir, self.metric)


def undecided(labels: List[str], shown: int = 6) -> str:
    """The comparisons (to the baseline) still open after a round, named: what the next round's seeds are for."""
    if not labels:
        return "every comparison decided"
    named = ", ".join(labels[:shown]) + (f" and {len(labels) - shown} more" if len(labels) > shown else "")
    return f"{len(labels)} comparison(s) to the baseline undecided: {named}"
