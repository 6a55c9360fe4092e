"""The private parts of Lightning, Hydra, OmegaConf, TensorBoard and joblib ablab reads (ablab.upstream)
still work as ablab reads them, in the library versions installed."""
import importlib
import importlib.metadata
import os

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.tensorboard import SummaryWriter

from ablab import upstream

DISTRIBUTIONS = {"pytorch_lightning": "pytorch-lightning", "hydra": "hydra-core", "omegaconf": "omegaconf",
                 "tensorboard": "tensorboard", "joblib": "joblib"}


def test_the_installed_libraries_are_the_tested_lines():
    installed = {lib: ".".join(importlib.metadata.version(dist).split(".")[:2]) for lib, dist in DISTRIBUTIONS.items()}
    assert installed == upstream.TESTED, "re-check ablab/upstream.py against these versions, then update TESTED"


class _Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(3, 2)), batch_size=1)


class _Reads(pl.Callback):
    def __init__(self):
        self.last, self.loops = [], None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.last.append(upstream.at_epochs_last_batch(trainer))
        self.loops = upstream.loops_state(trainer)


def test_the_lightning_privates_read_what_ablab_expects(tmp_path):
    reads = _Reads()
    trainer = pl.Trainer(max_epochs=1, callbacks=[reads], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(_Tiny())
    assert reads.last == [False, False, True]
    assert {"fit_loop", "validate_loop", "test_loop", "predict_loop"} <= set(reads.loops)
    assert all(hasattr(trainer, name) for name in upstream.MODEL_CHECKPOINT_READS)
    assert not upstream.saves_within_epochs(ModelCheckpoint())
    assert upstream.saves_within_epochs(ModelCheckpoint(every_n_train_steps=5))


def test_the_tensorboard_writer_takes_summaries(tmp_path):
    writer = SummaryWriter(tmp_path)
    assert hasattr(upstream.file_writer(writer), "add_summary")
    writer.close()


def test_the_hydra_and_omegaconf_privates_are_where_ablab_reads_them():
    assert upstream.basic_sweeper().__name__ == upstream.BASIC_SWEEPER.rpartition(".")[2]
    assert hasattr(upstream.basic_sweeper(), "split_arguments")
    importlib.import_module(upstream.BASIC_LAUNCHER_LOGGER)
    cfg = OmegaConf.create({"a": 1, "b": "${a}"})
    assert upstream.value_as_written(upstream.node_of(cfg, "b")) == "${a}"


def test_a_loky_executor_names_its_live_workers():
    from joblib.externals.loky import ProcessPoolExecutor

    executor = ProcessPoolExecutor(max_workers=1)
    try:
        pid = executor.submit(os.getpid).result(timeout=60)
        assert upstream.worker_pids(executor) == [pid]
    finally:
        executor.shutdown(wait=True)
