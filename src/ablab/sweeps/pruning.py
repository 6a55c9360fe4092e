"""Stop a search's hopeless trial early, from its validation curve (a Lightning callback).

conf/hparams_search/optuna.yaml adds it to every run's callbacks (`callbacks.pruning`).
In a job the `search` sweeper launched, it finds that job's trial in the study (by the job
number and sweep directory the sweeper wrote on the trial), reports the monitored metric
after every validation inside fit (step = the epoch, from 1) and asks the study's pruner
(`hydra.sweeper.pruner`, e.g. a median rule) whether to stop. When it should, the epoch
finishes as usual (its history entry and last.ckpt are written), training stops, and the
run ends as `pruned` in results.json (ablab.run.pruned) without the final test. Outside such
a search it does nothing.

optuna-integration's PyTorchLightningPruningCallback does the same for the `lightning`
package; ablab trains with `pytorch_lightning`, whose Trainer accepts only its own callbacks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytorch_lightning as pl
from pytorch_lightning.trainer.states import TrainerFn

from ablab.run.pruned import Pruned
from ablab.sweeps.precheck import SEARCH


def this_jobs_trial():
    """The running Optuna trial of this Hydra job, or None outside a `search` sweep."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    sweeper = hydra.get("sweeper") or {}
    if sweeper.get("_target_") != SEARCH or hydra.job.get("num") is None:
        return None
    import optuna
    from hydra.utils import instantiate
    from optuna.trial import TrialState

    from ablab.sweeps.search import JOB, SWEEP, open_storage, storage_url

    sweep_dir = Path(str(hydra.sweep.dir)).resolve()
    storage = open_storage(storage_url(sweeper.get("storage"), sweep_dir))
    pruner = instantiate(sweeper.pruner) if sweeper.get("pruner") else optuna.pruners.NopPruner()
    study = optuna.load_study(study_name=sweeper.study_name, storage=storage, pruner=pruner)
    mine = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.user_attrs.get(JOB) == int(hydra.job.num) and t.user_attrs.get(SWEEP) == str(sweep_dir)]
    return optuna.trial.Trial(study, mine[-1]._trial_id) if mine else None


class TrialPruning(pl.Callback):
    def __init__(self, monitor: str = "val/acc") -> None:
        self.monitor = monitor
        self.trial = None
        self.pruned: Optional[str] = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.is_global_zero:
            self.trial = this_jobs_trial()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        stop = None
        value = trainer.callback_metrics.get(self.monitor)
        if self.trial is not None and value is not None:
            epoch = trainer.current_epoch + 1
            self.trial.report(float(value), epoch)
            if self.trial.should_prune():
                stop = f"pruned after epoch {epoch}: {self.monitor} {float(value):.4f} (trial {self.trial.number})"
        stop = trainer.strategy.broadcast(stop, src=0)  # every DDP rank stops together
        if stop:
            self.pruned = stop
            trainer.should_stop = True

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.pruned:
            raise Pruned(self.pruned)
