"""Samplers draw classes with their target probabilities and images uniformly within a class."""
import math

import pytest
import torch

from ablab.data.sampling import ClassBalanced, ClassPower, Shuffle, SquareRoot, class_weights

COUNTS = [1000, 400, 100, 10]  # long-tailed, 1510 images
DRAWS = 200_000


def _labels() -> torch.Tensor:
    y = torch.arange(len(COUNTS)).repeat_interleave(torch.tensor(COUNTS))
    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(3))]


def _frequencies(sampler, labels) -> list[float]:
    idx = sampler(labels, torch.Generator().manual_seed(0))
    assert idx.dtype == torch.int64 and len(idx) == DRAWS
    return (torch.bincount(labels[idx], minlength=len(COUNTS)).double() / DRAWS).tolist()


def test_class_balanced_draws_every_class_equally():
    freq = _frequencies(ClassBalanced(num_samples=DRAWS), _labels())
    assert freq == pytest.approx([0.25] * 4, abs=0.01)


def test_square_root_draws_classes_in_proportion_to_sqrt_count():
    roots = [math.sqrt(n) for n in COUNTS]  # 31.6, 20, 10, 3.16
    target = [r / sum(roots) for r in roots]  # 0.487, 0.308, 0.154, 0.049
    freq = _frequencies(SquareRoot(num_samples=DRAWS), _labels())
    assert freq == pytest.approx(target, abs=0.01)


def test_power_one_is_instance_balanced():
    freq = _frequencies(ClassPower(1.0, num_samples=DRAWS), _labels())
    assert freq == pytest.approx([n / sum(COUNTS) for n in COUNTS], abs=0.01)


def test_images_within_a_class_are_drawn_uniformly():
    labels = _labels()
    idx = ClassBalanced(num_samples=DRAWS)(labels, torch.Generator().manual_seed(1))
    tail = (labels == 3).nonzero().squeeze(1)  # 10 images, ~5000 draws each
    hits = torch.bincount(idx, minlength=len(labels))[tail].double()
    assert hits.min() > 0.9 * hits.mean() and hits.max() < 1.1 * hits.mean()
    head_hits = torch.bincount(idx, minlength=len(labels))[labels == 0]
    assert (head_hits > 0).float().mean() > 0.99  # 50 draws per head image: nearly all seen


def test_default_epoch_length_and_seeded_repeatability():
    labels = _labels()
    a = SquareRoot()(labels, torch.Generator().manual_seed(5))
    b = SquareRoot()(labels, torch.Generator().manual_seed(5))
    assert len(a) == len(labels) and torch.equal(a, b)
    assert not torch.equal(a, SquareRoot()(labels, torch.Generator().manual_seed(6)))


def test_class_weights_mask_empty_classes():
    w = class_weights(torch.tensor([4, 0, 1]), 0.5)
    assert w.tolist() == pytest.approx([2 / 3, 0.0, 1 / 3])
    assert class_weights(torch.tensor([4, 0, 1]), 0.0).tolist() == pytest.approx([0.5, 0.0, 0.5])
    labels = torch.tensor([0, 0, 2, 2, 2])  # class 1 absent: never drawn
    idx = ClassBalanced(num_samples=1000)(labels, torch.Generator().manual_seed(0))
    assert set(labels[idx].tolist()) == {0, 2}


def test_shuffle_is_a_permutation():
    labels = _labels()
    idx = Shuffle()(labels, torch.Generator().manual_seed(0))
    assert torch.equal(idx.sort().values, torch.arange(len(labels)))


def test_sampler_yaml_files_build_their_samplers():
    from pathlib import Path

    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    conf = Path(__file__).parents[1] / "conf" / "sampler"
    expected = {"none": Shuffle, "balanced": ClassBalanced, "sqrt": SquareRoot}
    for name, cls in expected.items():
        sampler = instantiate(OmegaConf.load(conf / f"{name}.yaml"))
        assert isinstance(sampler, cls)
        assert len(sampler(_labels(), torch.Generator().manual_seed(0))) == sum(COUNTS)
