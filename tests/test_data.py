"""Data layer: torchvision loaders on fake files in the real formats, splits, cache, batches, augmentation."""
import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from ablab.data import sources
from ablab.data.augment import Affine, CropFlip
from ablab.data.cache import load_cached
from ablab.data.folder import image_folder
from ablab.data.loader import TensorBatches
from ablab.data.datamodule import ImageDataModule
from ablab.data.ranks import group_by_class, rank_within_class
from ablab.data.sampling import Shuffle
from ablab.data.stratified import stratified_fold, stratified_holdout
from ablab.errors import DataError
from tests import fakes
from tests.configs import option


def test_mnist_family_reads_idx_through_torchvision(mnist_dir, fashion_dir):
    raw = sources.mnist(str(mnist_dir), download=False)
    assert raw.train_x.shape == (600, 1, 28, 28) and raw.train_x.dtype == torch.uint8
    assert raw.test_x.shape == (200, 1, 28, 28)
    assert raw.classes[0] == "0 - zero" and len(raw.classes) == 10
    expected = fakes.images_for(np.arange(600) % 10, seed=600)[..., 0]
    assert torch.equal(raw.train_x[:, 0], torch.from_numpy(expected))
    fashion = sources.fashion_mnist(str(fashion_dir), download=False)
    assert fashion.classes[0] == "T-shirt/top"


def test_emnist_balanced_has_47_classes_and_upright_images(emnist_dir):
    raw = sources.emnist(str(emnist_dir), download=False)
    assert len(raw.classes) == 47 and raw.classes[10] == "A"
    upright = fakes.images_for(np.arange(940) % 47, seed=940)[..., 0]
    assert torch.equal(raw.train_x[:, 0], torch.from_numpy(upright))  # the bar is horizontal again


def test_emnist_unknown_split_names_the_choices(emnist_dir):
    with pytest.raises(DataError, match="balanced"):
        sources.emnist(str(emnist_dir), split="nope")


def test_cifar10_pickles_become_chw_uint8(cifar_dir):
    raw = sources.cifar10(str(cifar_dir), download=False)
    assert raw.train_x.shape == (500, 3, 32, 32) and raw.test_x.shape == (200, 3, 32, 32)
    assert raw.classes == fakes.CIFAR_CLASSES
    hwc = fakes.images_for(np.arange(100) % 10, size=32, channels=3, seed=1)
    assert torch.equal(raw.train_x[:100], torch.from_numpy(hwc).permute(0, 3, 1, 2))


def test_corrupt_file_is_named(tmp_path):
    root = fakes.mnist_root(tmp_path)
    bad = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:1000])
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        sources.mnist(str(root), download=False)


def test_missing_files_say_where_and_what(tmp_path):
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.*not found in .*MNIST/raw"):
        sources.mnist(str(tmp_path), download=False)


def test_idx_files_reads_gzip(tmp_path):
    y = np.arange(50) % 10
    fakes.write_idx(tmp_path / "imgs", fakes.images_for(y)[..., 0], gz=True)
    fakes.write_idx(tmp_path / "lbls", y.astype(np.uint8), gz=True)
    raw = sources.idx_files(str(tmp_path), "imgs.gz", "lbls.gz")
    assert raw.train_x.shape == (50, 1, 28, 28) and raw.train_y.tolist() == y.tolist()


def test_folder_reads_class_folders_and_optional_splits(tmp_path):
    root = fakes.folder_root(tmp_path, per_class=4, splits=("train", "test"))
    raw = image_folder(str(root))
    assert raw.classes == ["cat", "dog", "owl"]
    assert raw.train_x.shape == (12, 3, 20, 20) and raw.test_x.shape == (12, 3, 20, 20)
    assert raw.val_x is None
    grey = image_folder(str(root), channels=1, image_size=[16, 16])
    assert grey.train_x.shape == (12, 1, 16, 16)


def test_stratified_holdout_is_stratified_and_seeded():
    labels = torch.arange(1000) % 10
    kept, held = stratified_holdout(labels, 0.2, seed=3)
    assert len(held) == 200 and torch.bincount(labels[held]).tolist() == [20] * 10
    assert set(kept.tolist()).isdisjoint(held.tolist()) and len(kept) + len(held) == 1000
    assert torch.equal(held, stratified_holdout(labels, 0.2, seed=3)[1])
    assert not torch.equal(held, stratified_holdout(labels, 0.2, seed=4)[1])


def test_folds_partition_the_data():
    labels = torch.arange(400) % 4
    vals = [stratified_fold(labels, 4, f, seed=0)[1] for f in range(4)]
    assert sorted(torch.cat(vals).tolist()) == list(range(400))
    assert all(torch.bincount(labels[v]).tolist() == [25] * 4 for v in vals)


def test_rank_within_class_in_order_of_appearance():
    labels = torch.tensor([2, 0, 2, 1, 0, 2])
    assert rank_within_class(labels).tolist() == [0, 0, 1, 0, 1, 2]
    order, starts, counts = group_by_class(labels, num_classes=4)
    assert order.tolist() == [1, 4, 3, 0, 2, 5] and starts.tolist() == [0, 2, 3, 6] and counts.tolist() == [2, 1, 3, 0]


def test_rank_within_class_with_a_generator_is_a_seeded_shuffle_per_class():
    labels = torch.randint(0, 5, (300,), generator=torch.Generator().manual_seed(0))
    rank = rank_within_class(labels, torch.Generator().manual_seed(1))
    for c in range(5):
        assert sorted(rank[labels == c].tolist()) == list(range(int((labels == c).sum())))
    assert torch.equal(rank, rank_within_class(labels, torch.Generator().manual_seed(1)))
    assert not torch.equal(rank, rank_within_class(labels, torch.Generator().manual_seed(2)))
    order, starts, counts = group_by_class(labels, torch.Generator().manual_seed(1))
    assert all((labels[order[s:s + n]] == c).all() for c, (s, n) in enumerate(zip(starts, counts)))
    # The generator is drawn from once (one randperm), so callers that draw after it keep their stream.
    g, reference = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    group_by_class(labels, g)
    torch.randperm(len(labels), generator=reference)
    assert torch.equal(torch.rand(4, generator=g), torch.rand(4, generator=reference))


def test_cache_is_reused_until_files_change(tmp_path):
    root = fakes.mnist_root(tmp_path)
    calls = []

    def load():
        calls.append(1)
        return sources.mnist(str(root), download=False)

    first = load_cached("mnist", str(root), {}, load)
    second = load_cached("mnist", str(root), {}, load)
    assert len(calls) == 1 and torch.equal(first.train_x, second.train_x)
    (root / "MNIST" / "raw" / "extra").write_text("changed")
    load_cached("mnist", str(root), {}, load)
    assert len(calls) == 2


def test_datamodule_splits_validation_and_keeps_test(mnist_dir):
    dm = ImageDataModule("mnist", lambda root: sources.mnist(root, download=False), str(mnist_dir),
                         mean=[0.5], std=[0.5], val_fraction=0.25, cache=False)
    dm.setup()
    assert len(dm.splits["train"].y) == 450 and len(dm.splits["val"].y) == 150
    assert len(dm.splits["test"].y) == 200 and dm.input_shape == (1, 28, 28) and dm.num_classes == 10
    batch = next(iter(dm.train_dataloader()))
    assert batch.x.dtype == torch.uint8 and len(batch.y) == 128 and batch.is_copy is None
    x = dm.preprocess(batch, training=True).x
    assert x.dtype == torch.float32 and abs(float(x.mean()) - ((x * 0.5 + 0.5).mean() - 0.5) / 0.5) < 1e-5


def test_tensor_batches_visit_every_index_once_per_epoch():
    x, y = torch.arange(10).view(10, 1), torch.arange(10)
    loader = TensorBatches(x, y, batch_size=4, order=Shuffle(), seed=1)
    first = torch.cat([b[1] for b in loader])
    second = torch.cat([b[1] for b in loader])
    assert len(loader) == 3 and sorted(first.tolist()) == list(range(10))
    assert not torch.equal(first, second)  # a fresh order each epoch
    shards = [torch.cat([b[1] for b in TensorBatches(x, y, 2, Shuffle(), seed=1, rank=r, world_size=2)])
              for r in (0, 1)]
    assert sorted(torch.cat(shards).tolist()) == list(range(10))


def test_augmentations_keep_shape_range_and_change_pixels():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 32, 32)
    for aug in (Affine(), CropFlip()):
        out = aug(x, g)
        assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
        assert not torch.equal(out, x)
    no_pad_no_flip = CropFlip(padding=0, flip=False)(x, g)
    assert torch.equal(no_pad_no_flip, x)
    crop = CropFlip(padding=4, flip=False)(x, g)
    assert all(any(torch.equal(crop[i, :, 4:28, 4:28], x[i, :, 4 + dy:28 + dy, 4 + dx:28 + dx])
                   for dy in range(-4, 5) for dx in range(-4, 5)) for i in range(4))


@pytest.mark.parametrize("alias, name", [("digits", "affine"), ("cifar", "crop_flip")])
def test_augment_dataset_names_are_aliases_of_what_the_augmentation_does(alias, name):
    assert option("augment", alias) == option("augment", name)
    # A checkpoint's stored config from before the rename still builds its augmentation.
    from ablab.run import stored

    old = {"digits": "ablab.data.augment.Digits", "cifar": "ablab.data.augment.Cifar"}[alias]
    assert type(instantiate(stored.current({"_target_": old}))) is type(instantiate(option("augment", name)))


def test_a_streamed_folder_run_completes_with_the_default_figures(tmp_path, folder_dir):
    """data.in_memory=false: batches come from a DataLoader over the image files; the
    figures read their training samples through the data module, not a tensor."""
    from tests.conftest import read_results, run_cli

    run = tmp_path / "run"
    proc = run_cli("data=folder", f"data.root={folder_dir}", "data.in_memory=false", "trainer.max_epochs=1",
                   "trainer.limit_train_batches=2", f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_results(run)["status"] == "completed"
    assert {"train_samples.png", "first_layer_weights.png", "confusion_matrix.png"} <= {
        p.name for p in (run / "figures").iterdir()}


def test_streamed_channel_statistics_sample_every_class():
    """A folder lists its images class by class: the sample must not be the first classes only."""
    from ablab.data.preprocess import channel_stats

    dark, bright = torch.zeros(1, 4, 4, dtype=torch.uint8), torch.full((1, 4, 4), 200, dtype=torch.uint8)
    images = [(dark, 0)] * 50 + [(bright, 1)] * 50  # indexable like a Subset of (image, label)
    mean, _ = channel_stats(images, streamed_sample=10)
    full, _ = channel_stats(torch.stack([im for im, _ in images]))
    assert mean[0] == pytest.approx(full[0], abs=0.05)
