"""One training run as a recipe of three public steps:

    prepare(cfg, job) -> parts     check, seed, data, network, callbacks, logger, where to start
    fit(parts) -> trainer          Lightning fits the network (resuming where `parts.start` says)
    finish(parts, trainer)         best epoch validated and tested, results.json and TensorBoard closed

`train(cfg)` is what train.py calls inside Hydra (one call per job of a sweep): the three steps
under `recorded`, which maps however the run ends to results.json's status. It returns the
validation accuracy so Hydra sweepers (Optuna, OFAT) can compare jobs. The fused launcher
(ablab.fused) calls `prepare` and `finish` for each member of a group and trains the group itself.
"""
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ProgressBar

from ablab.errors import UserError
from ablab.factors import build
from ablab.lit import Classifier
from ablab.run import devices, distributed, hparams, names, predictions, stop, sweep_output
from ablab.run.callbacks import Diverged, Throughput, callbacks_for, progress_bar
from ablab.run.checkpoint_io import AtomicCheckpointIO
from ablab.run.cuda_probe import plain_cuda_check_on_cpu
from ablab.run.lock import job_dir, one_writer
from ablab.run.pruned import Pruned
from ablab.run.results_writer import ResultsWriter
from ablab.run.resume.earlier import NOTHING, Earlier, earlier_run
from ablab.run.resume.start import Start, choose
from ablab.run.resume.state import EpochSeed, RunClock
from ablab.run.summary import summary
from ablab.run.tensorboard import RunLogger
from ablab.schema import validate
from ablab.seeds import seed_of

# Final metrics shown beside each run's factors in TensorBoard's HParams dashboard, as ~hp/<split>_<name>.
HPARAM_METRICS = hparams.METRICS


@dataclass(frozen=True)
class Job:
    """Where this run writes (its directory, its results.json), what an earlier part of it left
    there, and its clock (wall_s: the run's own time, not a process's imports)."""

    hydra: DictConfig
    run_dir: Path
    overrides: list[str]
    earlier: Earlier
    results: ResultsWriter
    clock: RunClock

    @classmethod
    def of_this_process(cls, cfg: DictConfig, clock: RunClock | None = None) -> "Job":
        """The job Hydra's run_job entered; `clock`: a fused member's share of its group's time."""
        hydra_cfg = HydraConfig.get()
        run_dir, overrides = Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task)
        in_sweep = hydra_cfg.mode == RunMode.MULTIRUN  # only a sweep's job dir is reused by a rerun
        results = ResultsWriter(run_dir / "results.json", name=names.job_name(hydra_cfg, cfg.seed),
                                overrides=overrides, seed=cfg.seed,
                                description=names.job_description(hydra_cfg, cfg.seed))
        return cls(hydra_cfg, run_dir, overrides, earlier_run(run_dir, overrides) if in_sweep else NOTHING,
                   results, clock or RunClock(started=time.perf_counter()))


@dataclass
class Parts:
    """What `prepare` builds and `fit` and `finish` use."""

    cfg: DictConfig
    job: Job
    datamodule: object
    module: Classifier
    callbacks: list  # the config's, the run's state (seed, clock) and, last, its ResultsWriter
    logger: RunLogger
    start: Start  # the checkpoint fit goes on from, or none
    params: int


@dataclass(frozen=True)
class BestEpoch:
    """A best epoch (counted from 1; None without a best checkpoint) and its evaluations
    ("val", "test": Evaluations), when the caller of `finish` has measured them (a fused group)."""

    epoch: int | None
    evaluated: dict


@one_writer(job_dir)  # a second process into a directory in use is refused (ablab.run.lock)
def train(cfg: DictConfig) -> float:
    job = Job.of_this_process(cfg)
    if job.earlier.completed:  # a sweep run again into its own dir: keep what this job wrote
        sweep_output.print_done_before(job.run_dir, int(job.hydra.job.num))
        return job.earlier.metric
    with recorded(job):  # results.json says how the run ended, however it ends
        parts = prepare(cfg, job)
        trainer = fit(parts)
        return finish(parts, trainer)
    return float("nan")  # diverged or pruned: recorded as such, and a sweep goes on with its next job


def prepare(cfg: DictConfig, job: Job) -> Parts:
    """Everything the run needs before Lightning fits: checked, seeded, loaded, built."""
    validate(cfg)  # again, cheaply: a value Optuna samples from a range is first seen here
    devices.require("trainer.accelerator", cfg.trainer.accelerator)
    # ckpt_path=<bad file> fails here, before data loads; a sweep's damaged last.ckpt is passed over.
    start = choose(cfg.get("ckpt_path"), job.earlier.checkpoints, job.overrides)
    pl.seed_everything(seed_of("weights", cfg.seed), workers=True, verbose=False)
    datamodule = build.datamodule(cfg)
    datamodule.setup("fit")  # load now: missing or corrupt data fails before any training
    module = classifier(cfg, datamodule, job.overrides)
    params = sum(p.numel() for p in module.model.parameters())
    job.results.note(train_class_counts=dict(zip(datamodule.classes, datamodule.train_counts)), params=params,
                     val_size=len(datamodule.splits["val"].y))  # val_size: n_val of the report's test over folds
    start = _resume(start, module, job)
    # EpochSeed: a resumed run redraws what the uninterrupted one drew.
    callbacks = callbacks_for(cfg, datamodule, EpochSeed(cfg.seed), job.clock)
    callbacks.append(job.results)  # the per-epoch history as it goes, the final metrics after test
    logger = _logger(cfg, job, start, params)
    return Parts(cfg, job, datamodule, module, callbacks, logger, start, params)


def fit(parts: Parts) -> pl.Trainer:
    """Lightning's Trainer from the config, fitted; a Ctrl-C raises KeyboardInterrupt."""
    trainer = _trainer(parts)
    with plain_cuda_check_on_cpu(trainer):
        trainer.fit(parts.module, datamodule=parts.datamodule, ckpt_path=parts.start.checkpoint)
    if trainer.interrupted:
        raise KeyboardInterrupt
    return trainer


def finish(parts: Parts, trainer, evaluations: BestEpoch | None = None) -> float:
    """The best epoch validated and tested (or `evaluations`, as the caller measured them),
    results.json's final entries, the HParams metrics; returns the validation accuracy. `trainer`
    needs only `current_epoch` and `global_step` when `evaluations` are given."""
    results, module = parts.job.results, parts.module
    if evaluations is None:
        best_epoch = _validate_and_test_best(trainer, module, parts.datamodule)
    else:
        module.evaluated.update(evaluations.evaluated)
        results.final(module.evaluated, parts.datamodule)
        best_epoch = evaluations.epoch
    # Per-example evidence of the best epoch; DDP's ranks each see a shard of the examples, and no
    # file is better than a partial one (a fused group measures in one process).
    if evaluations is not None or trainer.world_size == 1:
        predictions.write(parts.job.run_dir, module.predicted)
    # None when the config drops it (callbacks.throughput=null).
    throughput = next((c for c in parts.callbacks if isinstance(c, Throughput)), None)
    results.end("completed", epochs=trainer.current_epoch, best_epoch=best_epoch,
                train_images_per_s=throughput.images_per_s if throughput else None)
    final = results.record
    parts.logger.log_metrics({hparams.metric_tag(s, n): final[s][n] for s, n in HPARAM_METRICS},
                             step=trainer.global_step)
    hparams.write_end(parts.logger.experiment, completed=True)
    parts.logger.close()
    return final["val"]["acc"]


@contextmanager
def recorded(job: Job):
    """Map how the run ended to results.json's status and error, and write it (rank zero)."""
    results = job.results
    try:
        yield
    except UserError as exc:
        results.end("failed", str(exc))
        raise
    except Diverged as exc:  # not an error of the sweep: the job says diverged and returns NaN
        results.end("diverged", str(exc))
        print(f"ablab: run diverged: {exc}", file=sys.stderr)
    except Pruned as exc:  # a search's pruner stopped it: a result, like diverged
        results.end("pruned", str(exc))
    except (KeyboardInterrupt, SystemExit):  # Lightning ends fit on Ctrl-C with sys.exit(1)
        results.end("interrupted", "interrupted by the user")
        _say_how_to_resume(job)
        raise
    except Exception as exc:
        if stop.requested():  # a stop signal inside a write surfaces as the writer's own error
            results.end("interrupted", "interrupted by the user")
            _say_how_to_resume(job)
            raise KeyboardInterrupt from exc
        results.end("failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        results.note(wall_s=round(job.clock.elapsed_s, 3))  # every part of a resumed run
        distributed.release(job.hydra)
        if distributed.is_rank_zero():  # one results.json per run, however many DDP processes
            results.write()
            if sweep_output.in_sweep(job.hydra):  # one line per job: [i/n] name · val acc · time
                sweep_output.print_job_line(results.record, int(job.hydra.job.num))
            elif results.record["status"] == "completed":  # the other endings have said why in one line already
                print(summary(results.record, job.run_dir), flush=True)


def classifier(cfg: DictConfig, datamodule, overrides: list[str]) -> Classifier:
    """The LightningModule: the network for the data's shape and classes, its loss, penalty,
    optimizer and schedule (partial configs it binds later), and the config it is saved with."""
    net = build.model(cfg, datamodule.input_shape, datamodule.num_classes)
    if cfg.get("compile"):
        net.compile()  # in place: checkpoints keep the plain module's keys
    return Classifier(
        model=net,
        loss=build.loss(cfg, datamodule.train_counts),
        optimizer=instantiate(cfg.optimizer),
        schedule=instantiate(cfg.scheduler),
        num_classes=datamodule.num_classes,
        penalty=build.penalty(cfg),
        preprocess=datamodule.preprocess,
        checkpoint_meta={"config": OmegaConf.to_container(cfg, resolve=True), "overrides": overrides},
    )


def _resume(start: Start, module: Classifier, job: Job) -> Start:
    """The checkpoint this run goes on from, checked against the model; said and recorded."""
    start = start.fitting(module)  # another model's checkpoint: the user's is an error, a sweep's passed over
    job.results.note(resume=start.record())
    if start.note:
        print(f"ablab: {job.run_dir}: {start.note}", file=sys.stderr)
    if start.checkpoint:  # an interrupted part's results.json may know of more time than its checkpoint
        job.clock.earlier_s = max(start.earlier_s, job.earlier.wall_s or 0.0)
    return start


def _logger(cfg: DictConfig, job: Job, start: Start, params: int) -> RunLogger:
    # purge_step: TensorBoard hides an earlier part's points from the resumed step on (they are replayed).
    dataset = job.hydra.runtime.choices.get("data", "")
    name = job.results.record["name"]
    logger = RunLogger(job.run_dir, name, label=f"{name} · {dataset}", purge_step=start.step)
    if start.checkpoint is None:  # once per run: a resumed part's hparams would be a second session
        swept = names.varied_keys(job.hydra)
        values = hparams.values(cfg, dict(job.hydra.runtime.choices), params, swept,
                                names.job_description(job.hydra, cfg.seed))
        hparams.write_start(logger.experiment, values, swept, group=f"{name} · {job.run_dir.parent.name}/{job.run_dir.name}")
    return logger


def _trainer(parts: Parts) -> pl.Trainer:
    cfg, job = parts.cfg, parts.job
    distributed.prepare(job.hydra, cfg.trainer, parts.start.checkpoint)  # DDP ranks of a sweep's job run that job
    quiet = sweep_output.quiet_job(job.hydra, cfg)  # a sweep's later jobs: no model table, devices or bar
    callbacks = [c for c in parts.callbacks if not (quiet and isinstance(c, ProgressBar))]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=parts.logger, plugins=[AtomicCheckpointIO()],
                       enable_progress_bar=progress_bar(cfg.trainer) and not quiet,
                       enable_model_summary=cfg.trainer.get("enable_model_summary", True) and not quiet,
                       log_every_n_steps=logging_interval(cfg.trainer, len(parts.datamodule.train_dataloader())))


def _validate_and_test_best(trainer: pl.Trainer, module: Classifier, datamodule) -> int | None:
    """Validation and test metrics of the best checkpoint; its epoch (counted from 1)."""
    best = trainer.checkpoint_callback.best_model_path or None
    best_epoch = best_epoch_of(best)
    if best_epoch is not None and best_epoch == trainer.current_epoch and "val" in module.evaluated:
        # The last epoch was the best and was validated in this process: its weights are in
        # memory and its validation metrics are known, so neither is loaded or measured again.
        best = None
    else:
        trainer.validate(module, datamodule=datamodule, ckpt_path=best, verbose=False)
    trainer.test(module, datamodule=datamodule, ckpt_path=best, verbose=False)
    return best_epoch


def logging_interval(trainer_cfg, batches_per_epoch: int) -> int:
    """trainer.log_every_n_steps, at most one epoch's steps: the loss of a short epoch still
    reaches TensorBoard, and Lightning has no "fewer batches than the interval" to warn about."""
    limit = trainer_cfg.get("limit_train_batches")
    if isinstance(limit, int) and not isinstance(limit, bool):
        batches_per_epoch = min(batches_per_epoch, limit)
    elif isinstance(limit, float):
        batches_per_epoch = int(batches_per_epoch * limit)
    return max(1, min(int(trainer_cfg.get("log_every_n_steps") or 50), batches_per_epoch))


def _say_how_to_resume(job: Job) -> None:
    last = job.run_dir / "checkpoints" / "last.ckpt"
    if job.hydra.mode == RunMode.MULTIRUN or not last.is_file():
        return  # a sweep says how to resume the whole sweep (ablab.sweeps.outcome)
    kept = " ".join(o for o in job.overrides if not o.startswith("ckpt_path="))
    print(f"ablab: to go on from the last finished epoch: python train.py {kept} ckpt_path={last}".replace("  ", " "),
          file=sys.stderr)


def best_epoch_of(best_path: str | None) -> int | None:
    """The epoch (counted from 1) a checkpoint was saved at; None without one."""
    if not best_path:
        return None
    return torch.load(best_path, map_location="cpu", weights_only=False, mmap=True)["epoch"] + 1  # Lightning counts from 0
