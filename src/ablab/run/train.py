"""One training run, as a recipe: validate, seed, data, model, callbacks, logger, trainer,
fit, test, results.json. Each step that needs more than a line is one call to a helper
below it (resuming, the trainer with its DDP re-pointing, fitting with the CPU CUDA-check
toggle), and `recorded` maps however the run ends to results.json's status.

`train(cfg)` is what train.py calls inside Hydra (one call per job of a sweep). It
returns the validation accuracy so Hydra sweepers (Optuna, OFAT) can compare jobs.
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
from ablab.run import devices, distributed, hparams, membership, names, predictions, stop, sweep_output
from ablab.run.callbacks import Diverged, Throughput, callbacks_for, progress_bar
from ablab.run.checkpoint_io import AtomicCheckpointIO
from ablab.run.cuda_probe import plain_cuda_check_on_cpu
from ablab.run.lock import one_writer
from ablab.run.pruned import Pruned
from ablab.run.results_writer import ResultsWriter
from ablab.run.resume.earlier import NOTHING, Earlier, earlier_run
from ablab.run.resume.start import Start, choose
from ablab.run.resume.state import EpochSeed, RunClock
from ablab.run.summary import summary
from ablab.run.tensorboard import RunLogger
from ablab.schema import validate

# Final metrics shown beside each run's factors in TensorBoard's HParams dashboard, as hp/<split>_<name>.
HPARAM_METRICS = hparams.METRICS


def _own_dir():
    """The run directory this process writes (DDP ranks 1.. write nothing, so lock nothing)."""
    return Path(HydraConfig.get().runtime.output_dir) if distributed.is_rank_zero() else None


@dataclass(frozen=True)
class Job:
    """Where this run writes and what an earlier part of it left there."""

    hydra: DictConfig
    run_dir: Path
    overrides: list[str]
    earlier: Earlier

    @classmethod
    def of_this_process(cls) -> "Job":
        hydra_cfg = HydraConfig.get()
        run_dir, overrides = Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task)
        in_sweep = hydra_cfg.mode == RunMode.MULTIRUN  # only a sweep's job dir is reused by a rerun
        return cls(hydra_cfg, run_dir, overrides, earlier_run(run_dir, overrides) if in_sweep else NOTHING)


@one_writer(_own_dir)  # a second process into a directory in use is refused (ablab.run.lock)
def train(cfg: DictConfig) -> float:
    job = Job.of_this_process()
    if job.earlier.completed:  # a sweep run again into its own dir: keep what this job wrote
        sweep_output.print_done_before(job.run_dir, int(job.hydra.job.num))
        return job.earlier.metric
    name = names.job_name(job.hydra, cfg.seed)  # what differs from the sweep's other jobs, as people read it
    results = ResultsWriter(job.run_dir / "results.json", name=name, overrides=job.overrides, seed=cfg.seed,
                            description=names.job_description(job.hydra, cfg.seed))
    clock = RunClock(started=time.perf_counter())  # wall_s: the run's own time, not a process's imports
    with recorded(results, job, clock):  # results.json says how the run ended, however it ends
        validate(cfg)  # again, cheaply: a value Optuna samples from a range is first seen here
        devices.require("trainer.accelerator", cfg.trainer.accelerator)
        # ckpt_path=<bad file> fails here, before data loads; a sweep's damaged last.ckpt is passed over.
        start = choose(cfg.get("ckpt_path"), job.earlier.checkpoints, job.overrides)
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule = membership.datamodule()  # a fused member's, set up by its group already
        if datamodule is None:
            datamodule = build.datamodule(cfg)
        datamodule.setup("fit")  # load now: missing or corrupt data fails before any training
        module = _classifier(cfg, datamodule, job.overrides)
        params = sum(p.numel() for p in module.model.parameters())
        results.note(train_class_counts=dict(zip(datamodule.classes, datamodule.train_counts)), params=params,
                     val_size=len(datamodule.splits["val"].y))  # val_size: n_val of the report's test over folds
        start = _resume(start, module, job, results, clock)
        if membership.group() is not None:  # trained in a fused group: finished here, not resumed
            results.note(resume=None, fused=membership.group())
        # EpochSeed: a resumed run redraws what the uninterrupted one drew.
        callbacks = callbacks_for(cfg, datamodule, EpochSeed(cfg.seed), clock)
        callbacks.append(results)  # the per-epoch history as it goes, the final metrics after test
        logger = _logger(cfg, job, start, params, name)
        trainer = _trainer(cfg, job, start, callbacks, logger, datamodule)
        _fit(trainer, module, datamodule, start.checkpoint)
        tested = membership.tested()
        if tested is not None:  # a fused member: its group validated and tested its best epoch
            module.evaluated.update(tested.evaluated)
            results.final(module.evaluated, datamodule)
            best_epoch = tested.best_epoch
        else:
            best_epoch = _validate_and_test_best(trainer, module, datamodule)
        predictions.write(job.run_dir, module.predicted)  # per-example evidence of the best epoch
        # None when the config drops it (callbacks.throughput=null).
        throughput = next((c for c in callbacks if isinstance(c, Throughput)), None)
        results.end("completed", epochs=trainer.current_epoch, best_epoch=best_epoch,
                    train_images_per_s=throughput.images_per_s if throughput else None)
        final = results.record
        logger.log_metrics({hparams.metric_tag(s, n): final[s][n] for s, n in HPARAM_METRICS},
                           step=trainer.global_step)
        hparams.write_end(logger.experiment, completed=True)
        logger.close()
        return final["val"]["acc"]
    return float("nan")  # diverged or pruned: recorded as such, and a sweep goes on with its next job


@contextmanager
def recorded(results: ResultsWriter, job: Job, clock: RunClock):
    """Map how the run ended to results.json's status and error, and write it (rank zero)."""
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
        results.note(wall_s=round(clock.elapsed_s, 3))  # every part of a resumed run
        distributed.release(job.hydra)
        if distributed.is_rank_zero():  # one results.json per run, however many DDP processes
            results.write()
            if sweep_output.in_sweep(job.hydra):  # one line per job: [i/n] name · val acc · time
                sweep_output.print_job_line(results.record, int(job.hydra.job.num))
            elif results.record["status"] == "completed":  # the other endings have said why in one line already
                print(summary(results.record, job.run_dir), flush=True)


def _classifier(cfg: DictConfig, datamodule, overrides: list[str]) -> Classifier:
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


def _resume(start: Start, module: Classifier, job: Job, results: ResultsWriter, clock: RunClock) -> Start:
    """The checkpoint this run goes on from, checked against the model; said and recorded."""
    start = start.fitting(module)  # another model's checkpoint: the user's is an error, a sweep's passed over
    results.note(resume=start.record())
    if start.note:
        print(f"ablab: {job.run_dir}: {start.note}", file=sys.stderr)
    if start.checkpoint:  # an interrupted part's results.json may know of more time than its checkpoint
        clock.earlier_s = max(start.earlier_s, job.earlier.wall_s or 0.0)
    return start


def _logger(cfg: DictConfig, job: Job, start: Start, params: int, name: str) -> RunLogger:
    # purge_step: TensorBoard hides an earlier part's points from the resumed step on (they are replayed).
    dataset = job.hydra.runtime.choices.get("data", "")
    if membership.logger() is not None:  # a fused member: the one its group wrote its points with
        return membership.logger()
    logger = RunLogger(job.run_dir, name, label=f"{name} · {dataset}", purge_step=start.step)
    if start.checkpoint is None:  # once per run: a resumed part's hparams would be a second session
        swept = names.varied_keys(job.hydra)
        values = hparams.values(cfg, dict(job.hydra.runtime.choices), params, swept,
                                names.job_description(job.hydra, cfg.seed))
        hparams.write_start(logger.experiment, values, swept, group=f"{name} · {job.run_dir.parent.name}/{job.run_dir.name}")
    return logger


def _trainer(cfg: DictConfig, job: Job, start: Start, callbacks, logger, datamodule) -> pl.Trainer:
    distributed.prepare(job.hydra, cfg.trainer, start.checkpoint)  # DDP ranks of a sweep's job run that job
    quiet = sweep_output.quiet_job(job.hydra, cfg)  # a sweep's later jobs: no model table, devices or bar
    callbacks = [c for c in callbacks if not (quiet and isinstance(c, ProgressBar))]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=logger, plugins=[AtomicCheckpointIO()],
                       enable_progress_bar=progress_bar(cfg.trainer) and not quiet,
                       enable_model_summary=cfg.trainer.get("enable_model_summary", True) and not quiet,
                       log_every_n_steps=_logging_interval(cfg.trainer, len(datamodule.train_dataloader())))


def _fit(trainer: pl.Trainer, module: Classifier, datamodule, checkpoint) -> None:
    with plain_cuda_check_on_cpu(trainer):
        trainer.fit(module, datamodule=datamodule, ckpt_path=checkpoint)
    if trainer.interrupted:
        raise KeyboardInterrupt


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


def _logging_interval(trainer_cfg, batches_per_epoch: int) -> int:
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
