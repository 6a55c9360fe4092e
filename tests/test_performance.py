"""What keeps training fast and small, checked without timing anything (bench/ prints the figures).

The data set stays uint8 (a float copy would be 4x its size), batches are slices of it with
no copy of the whole, floats exist only per batch; the divergence check reads the device
back only every `check_every` steps yet still sees a bad step in between, and a training
step reads no tensor value back into Python (on a GPU, a sync) apart from logging and check steps.
"""
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch

from ablab.run.callbacks import DivergenceGuard, Diverged
from ablab.run.cuda_probe import NVML_CHECK
from ablab.data import sources
from ablab.data.datamodule import ImageDataModule
from ablab.data.preprocess import channel_stats

CONF = Path(__file__).resolve().parents[1] / "conf"


def _datamodule(mnist_dir, **kw):
    dm = ImageDataModule("mnist", lambda root: sources.mnist(root, download=False), str(mnist_dir),
                         cache=False, **kw)
    dm.setup()
    return dm


def test_splits_stay_uint8_and_batches_are_slices_of_them(mnist_dir):
    dm = _datamodule(mnist_dir, mean=[0.1307], std=[0.3081])
    for name, (x, y) in dm.splits.items():
        assert x.dtype == torch.uint8 and y.dtype == torch.int64, name
    loader = dm.train_dataloader()
    assert loader.x.data_ptr() == dm.splits["train"].x.data_ptr()  # on the CPU: the same storage, no copy
    batch = next(iter(loader))
    x = batch.x
    assert x.dtype == torch.uint8 and x.shape[0] == 128
    assert dm.transfer_batch_to_device(batch, torch.device("cpu"), 0) is batch  # nothing to move
    out = dm.preprocess(batch, training=True).x
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert torch.allclose(out, (x.float() / 255 - 0.1307) / 0.3081, atol=1e-5)  # the fused path, same values


def test_channel_statistics_match_a_float_computation_without_needing_one(mnist_dir):
    dm = _datamodule(mnist_dir)  # no mean/std given: computed from the training images, in chunks
    x = dm.splits["train"].x
    ref = x.double() / 255
    assert dm.preprocess.mean == pytest.approx([float(ref.mean())], abs=1e-6)
    assert dm.preprocess.std == pytest.approx([float(ref.std(unbiased=False))], abs=1e-6)
    big = torch.zeros(10_000, 3, 4, 4, dtype=torch.uint8)
    big[::2] = 255
    mean, std = channel_stats(big)
    assert mean == pytest.approx([0.5] * 3) and std == pytest.approx([0.5] * 3)
    assert big.dtype == torch.uint8  # the input is left as it is


def test_divergence_guard_catches_a_bad_step_between_checks():
    guard = DivergenceGuard(check_every=5)
    trainer = SimpleNamespace(current_epoch=0, global_step=0)
    guard.on_train_epoch_start(trainer, None)
    losses = [1.0, float("nan"), 1.0, 1.0, 1.0, 1.0]
    with pytest.raises(Diverged, match="non-finite"):
        for step, value in enumerate(losses):
            trainer.global_step = step
            guard.on_train_batch_end(trainer, None, {"loss": torch.tensor(value)}, None, step)
    assert trainer.global_step == 5  # read back at the next check, not at the bad step itself
    guard.on_train_epoch_start(trainer, None)
    guard.on_train_batch_end(trainer, None, {"loss": torch.tensor(float("inf"))}, None, 1)
    with pytest.raises(Diverged):
        guard.on_train_epoch_end(trainer, None)


class SyncProbe(pl.Callback):
    """Counts reads of tensor values into Python (a host-device sync on a GPU) per training step."""

    READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "cpu")
    counts: dict[int, int] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._saved = {name: getattr(torch.Tensor, name) for name in self.READS}
        step = trainer.global_step
        SyncProbe.counts[step] = 0

        def counting(original):
            def read(tensor, *args, **kwargs):
                SyncProbe.counts[step] += 1
                return original(tensor, *args, **kwargs)
            return read

        for name, original in self._saved.items():
            setattr(torch.Tensor, name, counting(original))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._restore()  # after every other callback's hook of this step

    def on_exception(self, trainer, pl_module, exception):
        self._restore()  # a failing step must not leave torch patched for the other tests

    def _restore(self):
        for name, original in getattr(self, "_saved", {}).items():
            setattr(torch.Tensor, name, original)
        self._saved = {}


def _train_in_process(mnist_dir, tmp_path, *overrides: str) -> None:
    """ablab's own train() with its default callbacks, logger and metrics, as train.py runs it."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from ablab.run.train import train

    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", return_hydra_config=True, overrides=[
            "data=mnist", f"data.root={mnist_dir}", "model=mlp", "data.batch_size=16", "trainer.max_epochs=1", "viz=none",
            "trainer.enable_progress_bar=false", *overrides])
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(tmp_path)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):  # a job's own config has no hydra node
        del cfg["hydra"]
    try:
        train(cfg)
    finally:
        HydraConfig.instance().cfg = None


def test_training_steps_read_nothing_back_except_on_logging_and_check_steps(mnist_dir, tmp_path):
    SyncProbe.counts.clear()
    _train_in_process(mnist_dir, tmp_path, "trainer.log_every_n_steps=10", "callbacks.divergence.check_every=8",
                      "+callbacks.sync_probe._target_=tests.test_performance.SyncProbe")
    # The probe's end hook runs last, so the divergence guard's read at batch_idx % 8 == 0 is counted;
    # logging steps (global_step + 1) % 10 == 0 may read the loss for the logger.
    quiet = {s: n for s, n in SyncProbe.counts.items() if s % 8 and (s + 1) % 10}
    assert len(quiet) > 10 and set(quiet.values()) == {0}, quiet
    assert any(SyncProbe.counts[s] for s in SyncProbe.counts if s % 8 == 0)  # the probe does see reads


class NvmlProbe(pl.Callback):
    """Counts NVML-based GPU probes (torch loading NVML again) inside each training step."""

    counts: list[int] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._saved = torch.cuda._device_count_nvml
        NvmlProbe.counts.append(0)

        def counting():
            NvmlProbe.counts[-1] += 1
            return self._saved()

        torch.cuda._device_count_nvml = counting

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        torch.cuda._device_count_nvml = self._saved

    def on_exception(self, trainer, pl_module, exception):
        torch.cuda._device_count_nvml = getattr(self, "_saved", torch.cuda._device_count_nvml)


@pytest.mark.skipif(torch.cuda.is_available() or not torch.cuda._is_compiled(),
                    reason="the probe costs only with a CUDA build of torch and no GPU")
def test_cpu_training_steps_do_not_probe_nvml_for_a_gpu(mnist_dir, tmp_path):
    # Lightning asks torch to find GPUs through NVML; Adam asks at every step, and torch loads NVML
    # again each time (~0.1 ms). A CPU run uses the plain check while it trains, then restores Lightning's.
    assert os.environ.get(NVML_CHECK) == "1"  # what Lightning set when it was imported
    NvmlProbe.counts.clear()
    _train_in_process(mnist_dir, tmp_path, "trainer.accelerator=cpu", "optimizer=adam",
                      "+callbacks.nvml_probe._target_=tests.test_performance.NvmlProbe")
    assert len(NvmlProbe.counts) > 10 and set(NvmlProbe.counts) == {0}, NvmlProbe.counts
    assert os.environ.get(NVML_CHECK) == "1"


def test_a_run_without_the_throughput_callback_records_no_throughput(mnist_dir, tmp_path):
    # conf/callbacks/default.yaml: "set one to null to drop it"; the run must not need it.
    _train_in_process(mnist_dir, tmp_path, "callbacks.throughput=null")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "completed" and results["train_images_per_s"] is None
    _train_in_process(mnist_dir, tmp_path / "with", "trainer.max_epochs=2")
    assert json.loads((tmp_path / "with" / "results.json").read_text())["train_images_per_s"] > 0


def test_training_accuracy_counted_on_the_device_is_torchmetrics_micro_accuracy():
    from functools import partial

    from torchmetrics.classification import MulticlassAccuracy

    from ablab.data.batch import Batch
    from ablab.lit import Classifier

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 5))
    module = Classifier(net, torch.nn.CrossEntropyLoss(), partial(torch.optim.SGD, lr=0.1), None, num_classes=5)
    module.trainer = SimpleNamespace(log_every_n_steps=0, world_size=1, global_step=0)
    module.on_train_epoch_start()
    reference = MulticlassAccuracy(5, average="micro")
    for _ in range(4):
        x, y = torch.randn(32, 1, 4, 4), torch.randint(0, 5, (32,))
        module.training_step(Batch(x, y), 0)
        reference.update(net(x), y)
    assert module.train_epoch_means()["train/acc"] == reference.compute()


def test_checkpoint_callback_state_key_is_lightnings_own():
    from pytorch_lightning.callbacks import ModelCheckpoint

    from ablab.run.callbacks import ModelCheckpoint as Cached

    for kw in ({"monitor": "val/acc", "mode": "max"}, {"monitor": None, "every_n_epochs": 1}):
        assert Cached(**kw).state_key == ModelCheckpoint(**kw).state_key  # checkpoints keep Lightning's keys
