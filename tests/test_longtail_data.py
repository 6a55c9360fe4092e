"""Long-tailed data end to end: the _lt configs, the data module's splits, oversampling, the report."""
import pytest
import torch
from hydra import compose, initialize_config_dir

from ablab.paths import CONF_DIR
from ablab.data.batch import Batch
from ablab.data.longtail_subset import longtail_counts
from ablab.data.longtail_options import parse
from ablab.data.oversample import CopyAugment, OversampledBatches, copies_to_largest
from ablab.errors import UserError
from ablab.factors import build
from ablab.metrics.shot_accuracy import shots
from ablab.viz.longtail_report import counts_table
from tests.conftest import TINY, read_results, run_cli

# The fake MNIST has 600 training images, 60 per class; 10% go to validation first.
MNIST_TRAIN = [54] * 10


def datamodule(*overrides: str, seed: int = 0):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, f"seed={seed}"])
    dm = build.datamodule(cfg)
    dm.setup("fit")
    return dm


def mnist(root, *overrides, seed=0):
    return datamodule(f"data.root={root}", "data.download=false", *overrides, seed=seed)


def test_each_profile_keeps_exactly_its_counts(mnist_dir):
    assert mnist(mnist_dir, "data=mnist").train_counts == MNIST_TRAIN
    # Exponential, ratio 10: floor(54 * 10^(-i/9)).
    assert mnist(mnist_dir, "data=mnist_lt", "data.longtail.ratio=10").train_counts == \
        [54, 41, 32, 25, 19, 15, 11, 9, 6, 5]
    assert mnist(mnist_dir, "data=mnist_lt").train_counts == longtail_counts(MNIST_TRAIN, "exponential", ratio=100)
    # Switching profile from the CLI: the step keys' defaults (first half of the classes, 10%).
    assert mnist(mnist_dir, "data=mnist_lt", "data.longtail.profile=step").train_counts == [5] * 5 + [54] * 5
    assert mnist(mnist_dir, "data=mnist_lt", "data/longtail=step", "data.longtail.classes=[9]",
                 "data.longtail.fraction=0.5").train_counts == [54] * 9 + [27]
    assert mnist(mnist_dir, "data=mnist_lt", "data.longtail.profile=none").train_counts == MNIST_TRAIN


def test_cifar10_lt_default_is_the_cifar_study_step(cifar_dir):
    dm = datamodule("data=cifar10_lt", f"data.root={cifar_dir}", "data.download=false")
    assert dm.train_counts == [4] * 5 + [45] * 5  # 10% of 45 for airplane .. deer, the rest whole
    assert dm.longtail_options.tail_classes == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("data, fixture, ratio", [
    ("fashion_mnist_lt", "fashion_dir", 100), ("emnist_lt", "emnist_dir", 100), ("folder_lt", "folder_dir", 4),
])
def test_every_lt_config_is_its_balanced_config_reshaped(data, fixture, ratio, request):
    root = request.getfixturevalue(fixture)
    source = [] if data == "folder_lt" else ["data.download=false"]
    balanced = datamodule(f"data={data.removesuffix('_lt')}", f"data.root={root}", *source)
    lt = datamodule(f"data={data}", f"data.root={root}", *source, *([] if ratio == 100 else [f"data.longtail.ratio={ratio}"]))
    assert lt.longtail_options.selection == {"profile": "exponential", "ratio": ratio}
    assert lt.train_counts == longtail_counts(balanced.train_counts, "exponential", ratio=ratio)
    for split in ("val", "test"):
        assert all(torch.equal(a, b) for a, b in zip(balanced.splits[split], lt.splits[split]))


def test_validation_and_test_stay_balanced_and_untouched(mnist_dir, folder_dir):
    for balanced, lt in [
        (mnist(mnist_dir, "data=mnist"), mnist(mnist_dir, "data=mnist_lt", "data.longtail.oversample=true")),
        # folder: test is held out of train too, before the long tail
        (datamodule("data=folder", f"data.root={folder_dir}"), datamodule("data=folder_lt", f"data.root={folder_dir}")),
    ]:
        for split in ("val", "test"):
            assert all(torch.equal(a, b) for a, b in zip(balanced.splits[split], lt.splits[split]))
            assert torch.bincount(lt.splits[split].y).unique().numel() == 1  # every class alike
            batches = list(getattr(lt, f"{split}_dataloader")())
            assert all(b.is_copy is None for b in batches)  # no copies outside training
        # The long-tailed training images are a subset of the balanced ones.
        flat = lambda x: {bytes(img.flatten().numpy()) for img in x}  # noqa: E731
        assert flat(lt.splits["train"].x) <= flat(balanced.splits["train"].x)
        assert sum(lt.train_counts) < sum(balanced.train_counts)


def test_same_seed_same_subset(mnist_dir):
    a, b = (mnist(mnist_dir, "data=mnist_lt", "data.longtail.ratio=10") for _ in range(2))
    other = mnist(mnist_dir, "data=mnist_lt", "data.longtail.ratio=10", seed=1)
    assert torch.equal(a.splits["train"].x, b.splits["train"].x) and torch.equal(a.train_y, b.train_y)
    assert a.train_counts == other.train_counts and not torch.equal(a.splits["train"].x, other.splits["train"].x)


def test_oversampling_fills_every_class_to_the_majority(mnist_dir):
    dm = mnist(mnist_dir, "data=mnist_lt", "data.longtail.ratio=10", "data.longtail.oversample=true")
    counts = dm.train_counts
    for _ in range(2):  # every epoch, freshly drawn
        x, y, copy = (torch.cat(t) for t in zip(*dm.train_dataloader()))
        assert torch.bincount(y).tolist() == [max(counts)] * 10
        assert torch.bincount(y[~copy]).tolist() == counts  # each original exactly once
    # Copies spread evenly over a class's images: floor or ceil of extra / n_c each.
    labels = dm.train_y
    g = torch.Generator().manual_seed(0)
    epoch = copies_to_largest(labels, g)
    times = torch.bincount(epoch[epoch >= len(labels)] - len(labels), minlength=len(labels))
    for c, n in enumerate(counts):
        extra = max(counts) - n
        assert set(times[labels == c].tolist()) <= {extra // n, -(-extra // n)}


def test_oversampled_epochs_shard_evenly_across_ranks():
    y = torch.tensor([0] * 6 + [1] * 2 + [2])
    x = torch.arange(len(y), dtype=torch.uint8).view(-1, 1, 1, 1)
    ranks = [OversampledBatches(x, y, 4, rank=r, world_size=2) for r in range(2)]
    assert [len(r) for r in ranks] == [3, 3]  # 18 draws, 9 per rank
    ys = torch.cat([torch.cat([b[1] for b in r]) for r in ranks])
    assert torch.bincount(ys).tolist() == [6, 6, 6]


def test_copy_augment_changes_the_copies_only_and_each_draw_differently():
    x = torch.rand(6, 1, 8, 8)
    x[3:] = x[0]  # three copies of image 0
    is_copy = torch.tensor([False, False, False, True, True, True])
    g = torch.Generator().manual_seed(0)
    out = CopyAugment(noise_std=0.1, flip=True)(x.clone(), is_copy, g)
    assert torch.equal(out[:3], x[:3])
    assert not torch.allclose(out[3], out[4]) and not torch.allclose(out[4], out[5])
    assert out.min() >= 0 and out.max() <= 1
    flipped = CopyAugment(noise_std=0.0, flip=True)(x.clone(), torch.ones(6, dtype=torch.bool), g)
    assert all(torch.equal(f, i) or torch.equal(f, i.flip(2)) for f, i in zip(flipped, x))
    assert torch.equal(CopyAugment(noise_std=0.0, flip=False)(x.clone(), is_copy, g), x)


def test_the_batch_hook_varies_copies_and_leaves_originals_alone(mnist_dir):
    dm = mnist(mnist_dir, "data=mnist_lt", "data.longtail.ratio=10", "data.longtail.oversample=true")
    x, y, copy = batch = next(iter(dm.train_dataloader()))
    out, out_y, _ = dm.preprocess(batch, training=True)
    plain = dm.preprocess(Batch(x, y)).x  # the same images as evaluation sees them
    assert torch.equal(out_y, y) and torch.allclose(out[~copy], plain[~copy])
    assert not torch.allclose(out[copy], plain[copy])


def test_step_classes_beyond_the_datasets_classes_are_a_one_line_user_error():
    # The node's values are checked with the config (tests/test_schema.py); the class count needs the data.
    with pytest.raises(UserError) as info:
        parse({"profile": "step", "classes": [12]}, 10)
    assert "classes [12] are not in 0..9" in str(info.value) and "\n" not in str(info.value)


def test_shots_and_counts_table():
    counts, acc = [784, 101, 60, 21, 13, 7], [1.0, 0.9, 0.8, 0.6, 0.4, 0.2]
    assert shots(counts, acc) == {"many": 0.95, "medium": 0.7, "few": 0.3}
    assert shots(counts, acc, many=50, few=10, tail_classes=[4, 5]) == \
        {"many": 0.9, "medium": 0.5, "few": 0.2, "head": 0.825, "tail": 0.3}
    table = counts_table(["a", "b"], [100, 1], 100, 20)
    assert "| a | 100 | medium |" in table and "| b | 1 | few |" in table and "101 training images" in table


def test_cli_long_tail_run_reports_counts_and_shots(mnist_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    proc = run_cli("data=mnist_lt", f"data.root={mnist_dir}", "data.download=false", "model=mlp",
                   "data.longtail.ratio=10", "data.batch_size=32", *TINY, f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = read_results(run_dir)
    assert results["status"] == "completed"
    assert list(results["train_class_counts"].values()) == [54, 41, 32, 25, 19, 15, 11, 9, 6, 5]
    assert list(results["train_class_counts"])[0] == "0 - zero"
    for split in ("val", "test"):
        assert set(results[split]["shots"]) == {"medium", "few"}  # no class above 100 images
        assert "f1_macro" in results[split]
    events = EventAccumulator(str(next(run_dir.rglob("events.out.tfevents.*")).parent), size_guidance={"tensors": 0})
    events.Reload()
    text = events.Tensors("data/train_class_counts/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| 0 - zero | 54 | medium |" in text and "| 9 - nine | 5 | few |" in text
    assert {"val/medium_acc", "val/few_acc", "test/few_acc"} <= set(events.Tags()["scalars"])
    assert "figures/train_class_counts" in events.Tags()["images"]
    assert (run_dir / "figures" / "train_class_counts.png").is_file()
    assert (run_dir / "figures" / "longtail_accuracy.png").is_file()  # a single run draws both at once
