"""Preprocess: the one object that turns uint8 batches into the network's input, and that a
checkpoint keeps as plain data for eval and predict."""
import json

import pytest
import torch

from ablab.run import checkpoint
from ablab.data.augment import Affine
from ablab.data.batch import Batch
from ablab.data.oversample import CopyAugment
from ablab.data.preprocess import Preprocess


def _batch(n=16, copies=False):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 1, 12, 12), generator=g, dtype=torch.uint8)
    is_copy = torch.arange(n) % 2 == 1 if copies else None
    return Batch(x, torch.arange(n) % 3, is_copy)


def _preprocess(**kw):
    return Preprocess(["a", "b", "c"], (1, 12, 12), [0.2], [0.4], **kw)


def test_evaluation_batches_are_normalised_in_one_pass_and_denormalise_back():
    batch, pre = _batch(), _preprocess(augment=Affine())
    out = pre(batch, training=False)
    assert out.x.dtype == torch.float32 and torch.equal(out.y, batch.y) and out.is_copy is None
    assert torch.allclose(out.x, (batch.x.float() / 255 - 0.2) / 0.4, atol=1e-5)  # no augmentation outside training
    assert torch.allclose(pre.denormalize(out.x), batch.x.float() / 255, atol=1e-5)
    assert torch.equal(pre.images(batch.x), out.x)  # predict's path is the same


def test_training_augments_by_seed_and_epoch_and_varies_only_the_copies():
    batch = _batch(copies=True)
    plain = _preprocess()(batch).x
    pre = _preprocess(augment=Affine(), copies=CopyAugment(noise_std=0.1), seed=3)
    first = pre(batch, training=True, epoch=0).x
    assert not torch.allclose(first, plain)
    assert torch.equal(first, _preprocess(augment=Affine(), copies=CopyAugment(noise_std=0.1), seed=3)(
        batch, training=True, epoch=0).x)  # a resumed run redraws epoch 0's augmentation
    assert not torch.equal(first, pre(batch, training=True, epoch=1).x)
    copies_only = _preprocess(copies=CopyAugment(noise_std=0.1))(batch, training=True).x
    assert torch.allclose(copies_only[~batch.is_copy], plain[~batch.is_copy], atol=1e-6)
    assert not torch.allclose(copies_only[batch.is_copy], plain[batch.is_copy])


def test_plain_data_round_trip_rebuilds_the_same_preprocessing():
    pre = _preprocess(augment=Affine(degrees=5.0, scale=(0.8, 1.2)), copies=CopyAugment(0.07, flip=False), seed=2)
    data = json.loads(json.dumps(pre.to_dict()))  # plain data: what torch.load(weights_only=True) reads back
    again = Preprocess.from_dict(data)
    assert again.to_dict() == pre.to_dict() and again.input_shape == (1, 12, 12)
    batch = _batch(copies=True)
    assert torch.equal(again(batch, training=True, epoch=4).x, pre(batch, training=True, epoch=4).x)


@pytest.mark.parametrize("layout", ["preprocess", "top level (before Preprocess)"])
def test_checkpoint_load_rebuilds_preprocess_from_either_layout(tmp_path, layout):
    facts = _preprocess().to_dict()
    meta = {"config": {"seed": 0}, "overrides": []}
    meta.update({"preprocess": facts} if layout == "preprocess" else facts)
    path = tmp_path / "best.ckpt"
    torch.save({"ablab": meta, "state_dict": {}, "epoch": 3}, path)
    ckpt = checkpoint.load(path)
    assert ckpt.classes == ["a", "b", "c"] and ckpt.input_shape == (1, 12, 12) and ckpt.epoch == 3
    assert ckpt.preprocess.to_dict()["mean"] == [0.2]
