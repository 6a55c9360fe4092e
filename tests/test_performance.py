"""What keeps training fast and small, checked without timing anything (bench/ prints the figures).

The data set stays uint8 (a float copy would be 4x its size), batches are slices of it with
no copy of the whole, floats exist only per batch; the divergence check reads the device
back only every `check_every` steps yet still sees a bad step in between.
"""
from types import SimpleNamespace

import pytest
import torch

from ablab.callbacks import DivergenceGuard, Diverged
from ablab.data import sources
from ablab.data.module import ImageDataModule, _channel_stats


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
    assert loader.x.data_ptr() == dm.splits["train"][0].data_ptr()  # on the CPU: the same storage, no copy
    x, y = next(iter(loader))
    assert x.dtype == torch.uint8 and x.shape[0] == 128
    assert dm.transfer_batch_to_device((x, y), torch.device("cpu"), 0)[0] is x  # nothing to move
    out, _ = dm.on_after_batch_transfer((x, y), 0)
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert torch.allclose(out, dm.normalize(x.float() / 255), atol=1e-5)  # the fused path, same values


def test_channel_statistics_match_a_float_computation_without_needing_one(mnist_dir):
    dm = _datamodule(mnist_dir)  # no mean/std given: computed from the training images, in chunks
    x = dm.splits["train"][0]
    ref = x.double() / 255
    assert dm.mean == pytest.approx([float(ref.mean())], abs=1e-6)
    assert dm.std == pytest.approx([float(ref.std(unbiased=False))], abs=1e-6)
    big = torch.zeros(10_000, 3, 4, 4, dtype=torch.uint8)
    big[::2] = 255
    mean, std = _channel_stats(big)
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
