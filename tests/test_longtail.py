"""Long-tail profiles (counts and which images) and the shot-group metrics."""
import math

import pytest
import torch

from ablab.data.longtail_subset import longtail_counts, select_longtail
from ablab.metrics.shots import head_tail, shot_groups


def test_exponential_counts_over_ten_balanced_classes():
    counts = longtail_counts([1000] * 10, "exponential", ratio=100)
    assert counts == [1000, 599, 359, 215, 129, 77, 46, 27, 16, 10]
    # By hand: n_i = floor(1000 * 100^(-i/9)).
    assert counts[1] == math.floor(1000 * math.exp(-math.log(100) / 9))  # 599.48...
    assert counts[3] == math.floor(1000 / 100 ** (1 / 3))  # 1000 / 4.6416 = 215.4
    assert counts[0] / counts[-1] == 100


def test_exponential_matches_published_cifar10_lt_and_caps_at_availability():
    assert longtail_counts([5000] * 10, "exponential", ratio=100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    # Class 0 sets n_max; class 2 has fewer than its share (359) and keeps all 300.
    assert longtail_counts([1000, 1000, 300, 1000], "exponential", ratio=8) == [1000, 500, 250, 125]
    assert longtail_counts([1000, 1000, 100, 1000], "exponential", ratio=8) == [1000, 500, 100, 125]
    assert longtail_counts([10, 10], "exponential", ratio=1) == [10, 10]


def test_step_counts_reduce_only_the_listed_classes():
    counts = longtail_counts([5000] * 10, "step", classes=[0, 1, 2, 3, 4], fraction=0.1)
    assert counts == [500] * 5 + [5000] * 5
    assert longtail_counts([5923, 6742, 5958], "step", classes=[1], fraction=0.1) == [5923, 674, 5958]


@pytest.mark.parametrize("profile, kw", [
    ("bogus", {}), ("step", {"fraction": 0.1}), ("step", {"classes": [3], "fraction": 0.1}),
    ("step", {"classes": [0], "fraction": 1.5}), ("exponential", {"ratio": 0.5}), ("none", {"ratio": 2}),
])
def test_bad_profile_options_are_rejected(profile, kw):
    with pytest.raises(ValueError):
        longtail_counts([10, 10, 10], profile, **kw)


def _labels(per_class: int, num_classes: int) -> torch.Tensor:
    return torch.arange(num_classes).repeat_interleave(per_class)[torch.randperm(per_class * num_classes, generator=torch.Generator().manual_seed(9))]


def test_select_keeps_the_profile_counts_as_sorted_indices():
    labels = _labels(200, 5)
    keep = select_longtail(labels, 5, seed=0, profile="exponential", ratio=10)
    assert keep.dtype == torch.int64 and torch.equal(keep, keep.sort().values) and len(keep.unique()) == len(keep)
    assert torch.bincount(labels[keep], minlength=5).tolist() == longtail_counts([200] * 5, "exponential", ratio=10)
    assert len(select_longtail(labels, 5, seed=0, profile="none")) == len(labels)


def test_same_seed_same_subset_other_seed_other_subset():
    labels = _labels(200, 5)
    kw = dict(profile="step", classes=[0, 1], fraction=0.1)
    a, b = select_longtail(labels, 5, 1, **kw), select_longtail(labels, 5, 1, **kw)
    assert torch.equal(a, b)
    assert not torch.equal(a, select_longtail(labels, 5, 2, **kw))


def test_choice_within_a_class_is_random_not_the_first_images():
    labels = _labels(200, 2)
    keep = select_longtail(labels, 2, seed=0, profile="step", classes=[0], fraction=0.1)
    first_twenty = (labels == 0).nonzero().squeeze(1)[:20]
    kept_zero = keep[labels[keep] == 0]
    assert len(kept_zero) == 20 and not torch.equal(kept_zero, first_twenty)
    assert kept_zero.max() > first_twenty.max()  # reaches beyond the first images


def test_select_checks_num_classes():
    with pytest.raises(ValueError):
        select_longtail(torch.tensor([0, 1, 5]), 3, seed=0, profile="none")


def test_shot_groups_split_by_training_count():
    counts = [500, 101, 100, 20, 19, 5]
    acc = [0.9, 0.8, 0.6, 0.4, 0.2, 0.1]
    groups = shot_groups(counts, acc, many=100, few=20)
    assert groups == pytest.approx({"many": 0.85, "medium": 0.5, "few": 0.15})


def test_shot_groups_omit_empty_groups_and_nan_classes():
    assert shot_groups([500, 300], [0.9, 0.7]) == pytest.approx({"many": 0.8})
    groups = shot_groups(torch.tensor([500, 50, 5]), torch.tensor([0.9, float("nan"), 0.3]))
    assert groups == pytest.approx({"many": 0.9, "few": 0.3})
    with pytest.raises(ValueError):
        shot_groups([1, 2], [0.5])


def test_head_tail_for_step_profiles():
    acc = [0.2, 0.4, 0.9, 0.7]
    assert head_tail(acc, tail_classes=[0, 1]) == pytest.approx({"head": 0.8, "tail": 0.3})
    assert head_tail(acc, tail_classes=[]) == pytest.approx({"head": 0.55})
    with pytest.raises(ValueError):
        head_tail(acc, tail_classes=[4])
