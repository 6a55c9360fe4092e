"""The `search` Hydra sweeper: a hyper-parameter search on Optuna's ask/tell, in a persistent study.

    python train.py -m hparams_search=optuna
    python train.py -m hparams_search=optuna hydra.sweeper.n_trials=50 'dropout=choice(0,0.2,0.5)'
    python train.py -m hparams_search=optuna hydra.sweep.dir=<the same dir>      # resume it

Its settings, with what each means, are conf/hydra/sweeper/search.yaml (`hydra/sweeper=search`;
hydra-optuna-sweeper, where installed, holds the name `optuna` in Hydra's config store);
conf/hparams_search/optuna.yaml chooses it and sets the search space. The search itself (storage,
trials, retries, budget) is ablab.sweeps.search; this class parses, launches and collects.
"""
import logging
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class OptunaSweeper(Sweeper):
    def __init__(self, direction: str = "maximize", metric: str = "val.acc", study_name: str = "ablab",
                 storage: Optional[str] = None, n_trials: int = 20, n_jobs: Optional[int] = None,
                 heartbeat_s: float = 60.0,
                 sampler: Optional[Any] = None, pruner: Optional[Any] = None,
                 params: Optional[Dict[str, str]] = None) -> None:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"optuna sweeper: direction must be maximize or minimize, got {direction!r}")
        if int(n_trials) < 1 or (n_jobs is not None and int(n_jobs) < 1):
            raise ValueError(f"optuna sweeper: n_trials and n_jobs must be >= 1, got {n_trials} and {n_jobs}")
        self.direction, self.metric, self.study_name, self.storage = direction, metric, study_name, storage
        self.n_trials, self.heartbeat_s = int(n_trials), float(heartbeat_s)
        self.n_jobs = None if n_jobs is None else int(n_jobs)
        self.sampler, self.pruner = sampler, pruner
        self.params = dict(params or {})
        self.hydra_context: Optional[HydraContext] = None
        self.config: Optional[DictConfig] = None
        self.launcher = None
        self._composing = threading.Lock()

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        # Imported here, not at module level: Hydra imports every plugin at start-up.
        import optuna
        from hydra.utils import instantiate

        from ablab.sweeps.search import Search, open_storage, storage_url
        from ablab.sweeps.search_space import search_space

        assert self.config is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        space = search_space(parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()] + list(arguments)))
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        url = storage_url(self.storage, sweep_dir)
        storage = open_storage(url)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # ablab says what happens, once per trial
        # A study that has trials already gets a sampler seeded past them: a resumed or second
        # worker does not draw the first worker's random start-up points again.
        earlier = _trial_count(storage, self.study_name)
        sampler = instantiate(self.sampler, **({"seed": self.sampler.seed + earlier} if earlier and
                                               self.sampler.get("seed") is not None else {})) if self.sampler else None
        study = optuna.create_study(storage=storage, study_name=self.study_name, direction=self.direction,
                                    sampler=sampler, pruner=instantiate(self.pruner) if self.pruner else optuna.pruners.NopPruner(),
                                    load_if_exists=True)
        # The devices launcher runs launch calls side by side, one per slot: n_jobs defaults to its slots.
        concurrent = getattr(self.launcher, "concurrent_launches", None)
        at_once = concurrent() if concurrent else 1
        search = Search(study, space, self.n_trials, self.n_jobs or at_once, sweep_dir, self.heartbeat_s)
        log.info(f"Optuna {optuna.__version__}: study {self.study_name!r} in {url} ({earlier} trials so far; "
                 f"{self.n_trials} in all); searching {', '.join(space.distributions) or 'nothing'}")
        search.run(lambda jobs, first: [self._ended(r) for r in self._launch(jobs, first)], overlapping=at_once > 1)
        summary = search.summary()
        summary["storage"] = url
        OmegaConf.save(OmegaConf.create(summary), sweep_dir / "optimization_results.yaml")
        if "best_value" in summary:
            log.info(f"Optuna: best {self.metric} {summary['best_value']:.4f} in job {summary['best_job']}: "
                     f"{' '.join(f'{k}={v}' for k, v in summary['best_params'].items())}")
        log.info(f"Optuna: {sweep_dir / 'optimization_results.yaml'}; see every trial with: optuna-dashboard {url}")
        return summary

    def _launch(self, jobs: List[List[str]], first: int) -> List[JobReturn]:
        from ablab.run import stop

        assert self.launcher is not None
        stop.check()  # a stop signal: no trial starts after it (the search gives the asked trials back)
        with self._composing:  # trials launch from several threads with the devices launcher
            self.validate_batch_is_legal(jobs)  # composition errors before anything runs
        return list(self.launcher.launch(jobs, initial_job_idx=first))

    def _ended(self, result: JobReturn):
        """How a job ended, from its results.json (the run contract), else from Hydra's return."""
        import json

        from ablab.sweeps.ofat import score_of
        from ablab.sweeps.search import Ended

        out = OmegaConf.select(result.hydra_cfg, "hydra.runtime.output_dir") if result.hydra_cfg else None
        try:
            status = json.loads((Path(out) / "results.json").read_text()).get("status", "failed")
        except (OSError, ValueError, TypeError):
            status = "completed" if result.status == JobStatus.COMPLETED else "failed"
        value = result._return_value if result.status == JobStatus.COMPLETED else None
        score = score_of(value, out, self.metric) if status == "completed" else None
        return Ended(status if score is not None or status != "completed" else "failed", score)


def _trial_count(storage, study_name: str) -> int:
    try:
        return len(storage.get_all_trials(storage.get_study_id_from_name(study_name), deepcopy=False))
    except KeyError:
        return 0
