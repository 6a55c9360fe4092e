"""The `ofat` Hydra sweeper: one factor at a time instead of the cartesian product.

    python train.py -m hydra/sweeper=ofat optimizer=sgd,adam dropout=0,0.1,0.5

runs the baseline (no swept override applied) once, then each listed value with every
other factor at baseline. `hydra.sweeper.greedy=true` walks the factors in order and
carries each winner (by `metric`/`mode`; with repeats only a gain significant at `alpha`)
into the next factor; the chosen configuration
is logged and saved to <sweep dir>/ofat_best.yaml. Keys in `repeat_keys` (seed, fold)
are crossed with every job instead of being factors. The planning lives in
ablab.sweeps; this class only parses, launches and collects.
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


@dataclass
class OFATSweeperConf:
    _target_: str = "hydra_plugins.ablab_sweepers.ofat_sweeper.OFATSweeper"
    max_batch_size: Optional[int] = None  # jobs per launcher call; None = a whole step
    greedy: bool = False
    metric: str = "val.acc"  # dotted path into results.json (or the task's return value)
    mode: str = "max"  # max | min
    alpha: float = 0.05  # greedy with repeats: a value must beat the default at this significance
    repeat_keys: List[str] = field(default_factory=lambda: ["seed", "data.fold"])
    params: Optional[Dict[str, str]] = None  # sweeps written in config, as for `basic`


ConfigStore.instance().store(group="hydra/sweeper", name="ofat", node=OFATSweeperConf, provider="ablab")


class OFATSweeper(Sweeper):
    def __init__(self, max_batch_size: Optional[int] = None, greedy: bool = False,
                 metric: str = "val.acc", mode: str = "max", alpha: float = 0.05,
                 repeat_keys: Sequence[str] = ("seed", "data.fold"),
                 params: Optional[Dict[str, str]] = None) -> None:
        self.max_batch_size, self.greedy = max_batch_size, greedy
        self.metric, self.mode, self.alpha = metric, mode, alpha
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
        from ablab.sweeps.ofat import baseline_lookup, plan_jobs, split_overrides

        assert self.config is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{k}={v}" for k, v in self.params.items()]
        spec = split_overrides(parser.parse_overrides(params + list(arguments)),
                               baseline_lookup(self.config), self.repeat_keys)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        for f in spec.factors:
            if f.default is not None:
                log.info(f"OFAT: {f.override(f.default)} is the baseline; not run twice")

        if not self.greedy:
            returns = [self._launch(plan_jobs(spec))]
        else:
            search, returns = GreedySearch(spec, self.mode, self.alpha), []
            while not search.done():
                results, told = self._launch(search.next_batch()), len(search.steps)
                search.tell([self._score(r) for r in results])
                returns.append(results)
                for step in search.steps[told:]:  # say why each factor's value was kept
                    log.info(f"OFAT greedy: {step['factor']}={step['winner']}"
                             + (f" ({step['note']})" if step["note"] else ""))
            best = search.summary(self.metric)
            OmegaConf.save(OmegaConf.create(best), sweep_dir / "ofat_best.yaml")
            log.info(f"OFAT greedy best ({self.metric}={best['score']}, {self.mode}): "
                     f"{' '.join(best['overrides']) or '(baseline)'} -> {sweep_dir / 'ofat_best.yaml'}")
        if self._failures:
            # Like the basic sweeper, surface a failed job, but only after every step ran.
            log.error(f"OFAT: {len(self._failures)} job(s) failed")
            _ = self._failures[0].return_value  # raises the job's exception
        return returns

    def _launch(self, jobs: List[List[str]]) -> List[JobReturn]:
        assert self.launcher is not None
        size = self.max_batch_size or len(jobs) or 1
        results: List[JobReturn] = []
        for start in range(0, len(jobs), size):
            batch = jobs[start:start + size]
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
