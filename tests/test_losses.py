"""Each loss against a hand computation on two samples and three classes."""
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ablab.factors.losses import (BalancedSoftmax, ClassBalancedLoss, DeferredReweighting, FocalLoss,
                                  SoftmaxMSE, class_balanced_weights)

ROWS = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
LOGITS = torch.tensor(ROWS)
TARGET = torch.tensor([1, 0])
COUNTS = [100, 10, 1]


def _softmax(row):
    z = sum(math.exp(v) for v in row)
    return [math.exp(v) / z for v in row]


def _ce(row, t):
    return math.log(sum(math.exp(v) for v in row)) - row[t]


CE = [_ce(ROWS[0], 1), _ce(ROWS[1], 0)]  # 0.464, 3.170


def _random_batch(seed=0, n=16, c=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g) * 3, torch.randint(0, c, (n,), generator=g)


def test_softmax_mse_is_the_brier_score():
    p = [_softmax(r) for r in ROWS]
    per_sample = [sum((pi - (c == t)) ** 2 for c, pi in enumerate(row)) for row, t in zip(p, [1, 0])]
    assert SoftmaxMSE()(LOGITS, TARGET).item() == pytest.approx(sum(per_sample) / 2, rel=1e-6)


def test_focal_loss_by_hand():
    pt = [math.exp(-ce) for ce in CE]
    focal = [(1 - p) ** 2 * ce for p, ce in zip(pt, CE)]
    assert FocalLoss(gamma=2.0)(LOGITS, TARGET).item() == pytest.approx(sum(focal) / 2, rel=1e-6)
    # Per-class weights [1, 2, 3]: targets 1 and 0 weigh 2 and 1; torch's weighted mean.
    weighted = FocalLoss(gamma=2.0, weight=[1.0, 2.0, 3.0])(LOGITS, TARGET).item()
    assert weighted == pytest.approx((2 * focal[0] + 1 * focal[1]) / 3, rel=1e-6)


def test_focal_with_gamma_zero_is_cross_entropy():
    logits, target = _random_batch()
    assert FocalLoss(gamma=0.0)(logits, target).item() == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-6)
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0])
    got = FocalLoss(gamma=0.0, weight=w.tolist())(logits, target).item()
    assert got == pytest.approx(F.cross_entropy(logits, target, weight=w).item(), rel=1e-6)


def test_focal_gradient_stays_finite_when_confident():
    logits = torch.tensor([[100.0, 0.0, 0.0]], requires_grad=True)
    FocalLoss(gamma=0.5)(logits, torch.tensor([0])).backward()
    assert torch.isfinite(logits.grad).all()


def test_class_balanced_weights_by_hand():
    beta = 0.9
    raw = [(1 - beta) / (1 - beta**n) for n in COUNTS]  # 1/9.9997, 1/6.513, 1/1
    expected = [r * 3 / sum(raw) for r in raw]
    w = class_balanced_weights(COUNTS, beta)
    assert w.tolist() == pytest.approx(expected, rel=1e-6)
    assert w.sum().item() == pytest.approx(3.0)
    # beta -> 1 is inverse frequency; beta = 0 is uniform.
    assert class_balanced_weights(COUNTS, 1.0).tolist() == pytest.approx([3 * x / 1.11 for x in (0.01, 0.1, 1.0)], rel=1e-6)
    assert class_balanced_weights(COUNTS, 0.0).tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert class_balanced_weights([5, 0, 5], 0.9).tolist() == pytest.approx([1.5, 0.0, 1.5])


def test_class_balanced_loss_by_hand():
    w = [x * 3 / sum(1 / ((1 - 0.9**n) / 0.1) for n in COUNTS) for x in (1 / ((1 - 0.9**n) / 0.1) for n in COUNTS)]
    loss = ClassBalancedLoss(COUNTS, beta=0.9)(LOGITS, TARGET).item()
    assert loss == pytest.approx((w[1] * CE[0] + w[0] * CE[1]) / (w[1] + w[0]), rel=1e-6)
    pt = [math.exp(-ce) for ce in CE]
    focal = [(1 - p) ** 2 * ce for p, ce in zip(pt, CE)]
    loss = ClassBalancedLoss(COUNTS, beta=0.9, base="focal", gamma=2.0)(LOGITS, TARGET).item()
    assert loss == pytest.approx((w[1] * focal[0] + w[0] * focal[1]) / (w[1] + w[0]), rel=1e-6)


def test_batch_of_only_untrained_classes_gives_zero_not_nan():
    # Class 1 has no training images (weight 0); validation may still show a batch of it.
    loss = ClassBalancedLoss([50, 0, 5], beta=0.99)(LOGITS, torch.tensor([1, 1]))
    assert loss.item() == 0.0


def test_class_balanced_with_beta_zero_is_cross_entropy():
    logits, target = _random_batch(1)
    loss = ClassBalancedLoss([500, 50, 5, 1, 20], beta=0.0)(logits, target)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-6)


def test_balanced_softmax_by_hand():
    prior = [n / 111 for n in COUNTS]
    adjusted = [[v + math.log(p) for v, p in zip(row, prior)] for row in ROWS]
    expected = (_ce(adjusted[0], 1) + _ce(adjusted[1], 0)) / 2
    assert BalancedSoftmax(COUNTS)(LOGITS, TARGET).item() == pytest.approx(expected, rel=1e-6)


def test_balanced_softmax_with_uniform_counts_is_cross_entropy():
    logits, target = _random_batch(2)
    loss = BalancedSoftmax([7] * 5)(logits, target)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, target).item(), rel=1e-6)


def test_deferred_reweighting_switches_at_start_epoch():
    logits, target = _random_batch(3, c=3)
    counts = [1000, 100, 10]
    drw = DeferredReweighting(counts, start_epoch=2, beta=0.999)
    plain = F.cross_entropy(logits, target).item()
    balanced = ClassBalancedLoss(counts, beta=0.999)(logits, target).item()
    assert abs(plain - balanced) > 1e-3  # the switch must be visible
    seen = []
    for epoch in range(4):
        drw.set_epoch(epoch)
        seen.append(drw(logits, target).item())
    assert seen == pytest.approx([plain, plain, balanced, balanced], rel=1e-6)
    assert DeferredReweighting(counts, start_epoch=0, beta=0.999)(logits, target).item() == pytest.approx(balanced)


def test_losses_that_need_counts_say_so():
    for cls in (ClassBalancedLoss, BalancedSoftmax, DeferredReweighting):
        with pytest.raises(ValueError, match="class_counts"):
            cls()
    with pytest.raises(ValueError):
        ClassBalancedLoss(COUNTS, base="hinge")
    with pytest.raises(ValueError):
        ClassBalancedLoss(COUNTS, beta=1.5)


def test_every_loss_yaml_builds_and_gives_a_finite_scalar():
    conf = Path(__file__).parents[1] / "conf" / "loss"
    names = sorted(p.stem for p in conf.glob("*.yaml"))
    assert {"ce", "mse", "hinge", "focal", "class_balanced", "balanced_softmax", "drw"} <= set(names)
    logits = LOGITS.clone().requires_grad_()
    for name in names:
        cfg = OmegaConf.load(conf / f"{name}.yaml")
        # The core's contract: fill class_counts when the YAML declares the key.
        loss = instantiate(cfg, class_counts=COUNTS) if "class_counts" in cfg else instantiate(cfg)
        value = loss(logits, TARGET)
        assert value.ndim == 0 and torch.isfinite(value), name
    assert isinstance(instantiate(OmegaConf.load(conf / "ce.yaml")), torch.nn.CrossEntropyLoss)


def test_every_regularizer_yaml_is_a_penalty_on_weight_matrices_only():
    """regularizer=<name> builds an ablab.factors.penalty.Penalty; biases are left alone."""
    from ablab.factors.penalty import Penalty
    from tests.configs import option

    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        model.bias.fill_(100.0)
    conf = Path(__file__).parents[1] / "conf" / "regularizer"
    names = sorted(p.stem for p in conf.glob("*.yaml"))
    assert {"none", "l1", "l2"} <= set(names)
    expected = {"l1": 3.5, "l2": 5.25}  # sum |w|, sum w^2 of the weight matrix
    for name in names:
        cfg = option("regularizer", name)
        if not cfg.get("_target_"):
            continue
        penalty = instantiate(cfg)
        assert isinstance(penalty, Penalty), name
        assert float(penalty(model)) == pytest.approx(cfg.strength * expected[name]), name
