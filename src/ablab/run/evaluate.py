"""Evaluate a trained checkpoint: re-run a test split and write eval.json and the figures.

`evaluate(cfg)` is what eval.py calls inside Hydra. The data is the checkpoint's own data
config unless `data=<name>` (a whole data config) or `+data.<key>=...` (changes to the
checkpoint's own, e.g. another root) is given. Everything else about the run (model,
loss, seed for the splits, mean/std) comes from the checkpoint; the Trainer and the
figures from conf/eval.yaml. Output goes to the eval's own Hydra run directory:
eval.json (same per-split keys as results.json), figures/*.png and eval/ (its TensorBoard run).
"""
import copy
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import TensorBoardLogger

from ablab.errors import DataError
from ablab.factors import build
from ablab.lit import Classifier
from ablab.run import checkpoint
from ablab.run.callbacks import callbacks_for, progress_bar
from ablab.run.results import split_record, write_json
from ablab.schema import validate


def evaluate(cfg: DictConfig) -> float:
    started = time.perf_counter()
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    ckpt = checkpoint.load(cfg.ckpt_path)
    run_cfg = _run_config(ckpt, cfg.get("data"))
    validate(run_cfg)
    datamodule = build.datamodule(run_cfg)
    datamodule.setup("test")
    _check_fits(ckpt, datamodule)

    loss = build.loss(run_cfg, datamodule.train_counts)
    if hasattr(loss, "set_epoch") and ckpt.epoch is not None:
        loss.set_epoch(ckpt.epoch)  # deferred re-weighting: the state it was tested in
    module = Classifier(model=checkpoint.network(ckpt), loss=loss, optimizer=None, schedule=None,
                        num_classes=len(ckpt.classes), preprocess=ckpt.preprocess)  # fed as in training
    callbacks = callbacks_for(cfg, datamodule)  # figures and shot-group accuracy, as in training
    logger = TensorBoardLogger(save_dir=str(run_dir), name="", version="eval", default_hp_metric=False)
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=logger, enable_checkpointing=False,
                          enable_progress_bar=progress_bar(cfg.trainer))
    trainer.test(module, datamodule=datamodule, verbose=False)

    test = split_record(module.evaluated["test"], datamodule)
    write_json(run_dir / "eval.json", {
        "status": "completed",
        "ckpt_path": str(Path(ckpt.path).resolve()),
        "data": datamodule.name,
        "data_root": str(datamodule.root),
        "overrides": list(hydra_cfg.overrides.task),
        "wall_s": round(time.perf_counter() - started, 3),
        "test": test,
    })
    print(f"ablab: test acc {test['acc']:.4f} on {datamodule.name} ({len(datamodule.splits['test'].y)} images); "
          f"wrote {run_dir / 'eval.json'}")
    return test["acc"]


def _run_config(ckpt: checkpoint.Checkpoint, data: DictConfig | None) -> DictConfig:
    """The training run's config with the data to test on swapped in."""
    cfg = copy.deepcopy(ckpt.config)
    cfg.ckpt_path = None  # the training run's resume path: nothing to do with this eval
    if data is not None:
        data = OmegaConf.to_container(data, resolve=True)
        # A full data config (data=<name>) replaces the run's; bare keys (+data.root=...) amend it.
        cfg.data = data if "_target_" in data else OmegaConf.merge(cfg.data, data)
    return cfg


def _check_fits(ckpt: checkpoint.Checkpoint, datamodule) -> None:
    shape = "x".join(map(str, datamodule.input_shape))
    if tuple(datamodule.input_shape) != ckpt.input_shape:
        raise DataError(f"data {datamodule.name} ({datamodule.root}) has {shape} images but the checkpoint's "
                        f"model takes {ckpt.describe_shape()}; choose data of the shape it was trained on")
    if datamodule.num_classes != len(ckpt.classes):
        raise DataError(f"data {datamodule.name} ({datamodule.root}) has {datamodule.num_classes} classes but "
                        f"the checkpoint's model predicts {len(ckpt.classes)}")
