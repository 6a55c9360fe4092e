"""The fused launcher: members train as their separate runs do, each writes its own run
directory, and what cannot be fused runs one by one and says so.

Separate runs on a CPU are not bit-reproducible from one process to the next (multithreaded
float sums), so a member is held to its separate run at the level two separate runs agree:
the first two steps' losses within 1e-5 relative (the same weights, batches and dropout masks),
the first epoch's mean loss within 1e-3, final accuracies within 2 points of a tiny split (for
the adaptive optimizers, whose first steps are nearly lr·sign(g), so that a float-rounding
difference in a near-zero gradient becomes a whole step, the final losses within 2%: their
accuracy on 256 images moved by up to 7 points). The optimizer step is held to torch
bit for bit, and the network to float rounding, in the unit tests below.
"""
import copy
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial

import pytest
import torch
from torch import nn

from ablab.data.batch import Batch
from ablab.factors.norm import batch, layer, none
from ablab.factors.penalty import L1, L2
from ablab.fused import grouping
from ablab.fused.data import Stacked
from ablab.fused.module import FusedClassifier
from ablab.fused.net import FusedNet, unsupported
from ablab.fused.optim import MemberOptimizers
from ablab.lit import Classifier
from ablab.models.mlp import MLP
from ablab.run import predictions
from ablab.run.resume.state import EpochSeed
from tests.conftest import REPO, read_results, run_cli
from tests.test_faults import same, tensorboard

QUICK = ["model=mlp", "model.hidden=[32,16]", "trainer.max_epochs=2", "trainer.limit_train_batches=4",
         "trainer.limit_val_batches=2", "trainer.limit_test_batches=2", "trainer.log_every_n_steps=1", "viz=none"]


# ---- the network ----

@pytest.mark.parametrize("norm", [batch, layer, none])
def test_the_fused_network_computes_each_members_network(norm):
    rates = [0.0, 0.2, 0.5]
    nets = []
    for k, p in enumerate(rates):
        torch.manual_seed(k)  # each member its own initial weights
        nets.append(MLP((1, 6, 6), 5, act=nn.Tanh, norm=norm, dropout=p, hidden=(12, 8)))
    fused = FusedNet(copy.deepcopy(nets))
    fused.reseed([EpochSeed.stream(k, 0) for k in range(3)])
    x, y = torch.randn(3, 16, 1, 6, 6), torch.randint(0, 5, (3, 16))
    out = fused(x)
    sum(nn.functional.cross_entropy(out[k], y[k]) for k in range(3)).backward()
    for k, net in enumerate(nets):
        torch.manual_seed(EpochSeed.stream(k, 0))  # the dropout stream of member k's separate run
        alone = net(x[k])
        nn.functional.cross_entropy(alone, y[k]).backward()
        torch.testing.assert_close(out[k], alone)
        for stacked, own in zip(fused.parameters(), net.parameters()):
            torch.testing.assert_close(stacked.grad[k], own.grad)
    after = [MLP((1, 6, 6), 5, act=nn.Tanh, norm=norm, dropout=0.0, hidden=(12, 8)) for _ in range(3)]
    for k, net in enumerate(after):
        fused.copy_to(k, net)  # running statistics too
        for mine, theirs in zip(net.state_dict().values(), nets[k].state_dict().values()):
            torch.testing.assert_close(mine, theirs)
    fused.eval()
    for k, net in enumerate(nets):
        torch.testing.assert_close(fused(x)[k], net.eval()(x[k]))


@pytest.mark.parametrize("penalty", [L1, L2])
@pytest.mark.parametrize("smoothing", [(0.1, 0.1, 0.1), (0.0, 0.1, 0.2)], ids=["equal losses", "own losses"])
def test_each_members_loss_and_penalty_are_its_own(penalty, smoothing):
    # Member k's training loss: its own loss object on its logits (one cross-entropy call for all
    # members when theirs are equal) plus its own strength times the norm of its own weight matrices.
    members = []
    for k, (strength, s) in enumerate(zip((1e-3, 1e-2, 0.1), smoothing)):
        torch.manual_seed(k)
        members.append(Classifier(MLP((1, 6, 6), 5, act=nn.ReLU, norm=batch, hidden=(12, 8)),
                                  nn.CrossEntropyLoss(label_smoothing=s), partial(torch.optim.SGD, lr=0.1), None, 5,
                                  penalty=penalty(strength)))
    fused = FusedClassifier(members, seeds=[0, 1, 2])
    logits, y = torch.randn(3, 16, 5), torch.randint(0, 5, (3, 16))
    losses = fused._losses(logits, y) + fused._penalties()
    assert fused._one_cross_entropy == (len(set(smoothing)) == 1)
    losses.sum().backward()
    for k, m in enumerate(members):
        own = m.loss(logits[k], y[k]) + m.penalty(m.model)
        own.backward()
        torch.testing.assert_close(losses[k], own)
        matrices = [(p, q) for p, q in zip(fused.net.parameters(), m.model.parameters()) if q.ndim > 1]
        for stacked, mine in matrices:  # the penalty's gradient (the logits here are not the network's)
            torch.testing.assert_close(stacked.grad[k], mine.grad)


@pytest.mark.parametrize("smoothing", [(0.1, 0.1, 0.1), (0.0, 0.1, 0.2)], ids=["equal losses", "own losses"])
def test_a_fused_validation_measures_each_member_as_its_own(monkeypatch, smoothing):
    # The group counts its members' validation rows in chunks, not batch by batch: each member's
    # metrics are its own run's exactly (they are counts), its loss to float rounding.
    members = []
    for k, s in enumerate(smoothing):
        torch.manual_seed(k)
        members.append(Classifier(MLP((1, 6, 6), 5, act=nn.ReLU, norm=batch, hidden=(12, 8)),
                                  nn.CrossEntropyLoss(label_smoothing=s), partial(torch.optim.SGD, lr=0.1), None, 5))
    alone = copy.deepcopy(members)
    fused = FusedClassifier(members, seeds=[0, 1, 2]).eval()
    monkeypatch.setattr(FusedClassifier, "EVAL_ROWS", 40)  # counted after batches 3 and 5 of 16 rows
    x, y = torch.randn(5, 3, 16, 1, 6, 6), torch.randint(0, 5, (5, 3, 16))
    with torch.no_grad():
        fused.on_validation_epoch_start()
        for i in range(5):
            fused.validation_step(Stacked.make(x[i], y[i]), i)
        fused.on_validation_epoch_end()
        for k, m in enumerate(alone):
            m.eval()
            for i in range(5):
                m.validation_step(Batch(x[i, k], y[i, k]), i)
            m.on_validation_epoch_end()
            mine, own = members[k].evaluated["val"], m.evaluated["val"]
            assert mine.scalars.keys() == own.scalars.keys()
            assert mine.scalars["loss"] == pytest.approx(own.scalars["loss"], rel=1e-6)
            assert {n: v for n, v in mine.scalars.items() if n != "loss"} == \
                {n: v for n, v in own.scalars.items() if n != "loss"}
            assert mine.per_class_acc == own.per_class_acc
            assert torch.equal(mine.confusion_matrix, own.confusion_matrix)
            assert int(own.confusion_matrix.sum()) == 80


def test_only_the_mlp_has_a_fused_form():
    from ablab.models.cnn import CNN

    assert unsupported(MLP((1, 6, 6), 5, act=nn.ReLU, norm=batch, hidden=(4,))) is None
    assert "CNN" in unsupported(CNN((1, 28, 28), 10, act=nn.ReLU, norm=batch))
    assert "PReLU" in unsupported(MLP((1, 6, 6), 5, act=nn.PReLU, norm=batch, hidden=(4,)))


# ---- the optimizer step ----

OPTIMIZERS = [
    (torch.optim.SGD, [dict(lr=0.1), dict(lr=0.05, weight_decay=1e-3), dict(lr=0.2)]),
    (torch.optim.SGD, [dict(lr=0.1, momentum=0.9, nesterov=True), dict(lr=0.01, momentum=0.5, nesterov=True),
                       dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)]),
    (torch.optim.Adam, [dict(lr=1e-3, fused=True), dict(lr=1e-2, betas=(0.8, 0.9), fused=True),
                        dict(lr=3e-3, weight_decay=0.1, fused=True)]),
    (torch.optim.Adam, [dict(lr=1e-3, amsgrad=True), dict(lr=1e-2, amsgrad=True), dict(lr=1e-4, amsgrad=True)]),
    (torch.optim.AdamW, [dict(lr=1e-3), dict(lr=1e-2, weight_decay=0.1), dict(lr=1e-3, fused=True)]),
    (torch.optim.RMSprop, [dict(lr=1e-3), dict(lr=1e-2, alpha=0.9, momentum=0.5, centered=True),
                           dict(lr=1e-3, weight_decay=1e-2)]),
    (torch.optim.Adagrad, [dict(lr=1e-2), dict(lr=1e-1, lr_decay=1e-3), dict(lr=1e-2, initial_accumulator_value=0.1)]),
]


@pytest.mark.parametrize("shared", [False, True], ids=["own settings", "equal settings"])
@pytest.mark.parametrize("kind,settings", OPTIMIZERS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_member_steps_exactly_as_its_separate_optimizer(kind, settings, shared):
    # Own settings: an optimizer per member, torch's own code path: bit for bit. Equal settings (a
    # seed sweep): one optimizer over the members' range of the stacks; torch's kernels take a scalar
    # path for a tensor's last few elements, so an element may round differently (1 ulp) there.
    settings = [settings[0]] * 3 if shared else settings
    agree = partial(torch.testing.assert_close, rtol=1e-6, atol=1e-9) if shared else assert_equal
    torch.manual_seed(0)
    shapes = [(5, 4), (5,), (3, 5)]
    alone = [[nn.Parameter(torch.randn(s)) for s in shapes] for _ in settings]
    stacked = [nn.Parameter(torch.stack([a[i].detach() for a in alone])) for i in range(len(shapes))]
    share = ["same"] * 3 if shared else None
    fused = MemberOptimizers(stacked, [lambda ps, s=s: kind(ps, **s) for s in settings], share)
    assert len(fused.ranges) == (1 if shared else 3)
    separate = [kind(ps, **s) for ps, s in zip(alone, settings)]
    for step in range(5):
        if step == 2:
            fused.freeze(2)  # member 2 diverged: from here on it must not move
            frozen = [p[2].clone() for p in stacked]
            frozen_state = fused.members[2].state_dict()["state"]
        grads = [torch.randn(len(settings), *s) for s in shapes]
        for p, g in zip(stacked, grads):
            p.grad = g.clone()
        fused.step()
        for k in (0, 1, 2) if step < 2 else (0, 1):
            for p, g in zip(alone[k], grads):
                p.grad = g[k].clone()
            separate[k].step()
            for p, own in zip(stacked, alone[k]):
                agree(p[k], own)
    assert all(torch.equal(p[2], f) for p, f in zip(stacked, frozen))
    now = fused.members[2].state_dict()["state"]
    for i, state in frozen_state.items():  # its per-element state too (a shared step count goes on)
        assert all(torch.equal(now[i][name], v) for name, v in state.items() if v.shape == stacked[i].shape[1:])
    for k in (0, 1):
        assert same_state(fused.members[k].state_dict(), separate[k].state_dict(), agree)
    again = MemberOptimizers([nn.Parameter(p.detach().clone()) for p in stacked],
                             [lambda ps, s=s: kind(ps, **s) for s in settings], share)
    again.load_state_dict(fused.state_dict())
    assert again.frozen == [False, False, True]
    assert same_state(again.members[1].state_dict(), fused.members[1].state_dict())


def assert_equal(a: torch.Tensor, b: torch.Tensor) -> None:
    assert torch.equal(a, b)


def same_state(a: dict, b: dict, same=assert_equal) -> bool:
    assert a["param_groups"] == b["param_groups"] and a["state"].keys() == b["state"].keys()
    for i in a["state"]:
        assert a["state"][i].keys() == b["state"][i].keys()
        for name in a["state"][i]:
            same(torch.as_tensor(a["state"][i][name]), torch.as_tensor(b["state"][i][name]))
    return True


# ---- which jobs share a group ----

def config(*overrides: str):
    from hydra import compose, initialize_config_dir

    from ablab.paths import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return compose("train", overrides=list(overrides))


def test_jobs_that_differ_in_per_member_values_share_a_key():
    base = grouping.key(config("model=mlp"))
    for differs in ["seed=3", "optimizer.lr=0.1", "optimizer=sgd_momentum", "scheduler=step", "dropout=0.3",
                    "loss=focal", "init=xavier", "augment=digits", "data.fold=1", "regularizer=l2"]:
        assert grouping.key(config("model=mlp", differs)) == base or differs == "regularizer=l2", differs
    assert grouping.key(config("model=mlp", "regularizer=l2", "regularizer.strength=0.1")) == \
        grouping.key(config("model=mlp", "regularizer=l2"))
    for differs in ["model.hidden=[64]", "activation=tanh", "norm=none", "data.batch_size=64",
                    "trainer.max_epochs=2", "regularizer=l1"]:
        assert grouping.key(config("model=mlp", differs)) != base, differs


def test_what_runs_one_by_one_says_why():
    assert grouping.reason_alone(config("model=mlp")) is None
    reasons = {
        "model=cnn": "has no fused form",
        "callbacks=early_stopping": "callback early_stopping",
        "trainer.gradient_clip_val=1.0": "gradient clipping",
        "data=mnist_sample_lt": "long-tailed",
        "ckpt_path=x.ckpt": "ckpt_path",
    }
    for override, why in reasons.items():
        extra = [] if override.startswith("model=") else ["model=mlp"]
        assert why in grouping.reason_alone(config(*extra, override)), override


# ---- whole sweeps ----

def sweep(tmp_path, name: str, *args: str, launcher: str = "fused") -> tuple[subprocess.CompletedProcess, object]:
    out = tmp_path / name
    proc = run_cli("-m", f"hydra/launcher={launcher}", *args, f"hydra.sweep.dir={out}")
    return proc, out


def assert_as_separate_runs(fused_dir, basic_dir, jobs: int, adaptive: bool = False) -> None:
    for j in range(jobs):
        a, b = read_results(basic_dir / str(j)), read_results(fused_dir / str(j))
        assert b["status"] == a["status"] == "completed"
        assert b.keys() - a.keys() == {"fused"} and b["fused"]["members"] >= 2
        assert b["resume"] is None and b["overrides"] == a["overrides"] and b["name"] == a["name"]
        assert [e["epoch"] for e in b["history"]] == [e["epoch"] for e in a["history"]]
        first_a, first_b = a["history"][0]["train_loss"], b["history"][0]["train_loss"]
        # Adagrad's first epoch moved by up to 8.6e-4 (below); every other optimizer's by < 1e-5.
        assert abs(first_a - first_b) <= (5e-3 if adaptive else 1e-3) * abs(first_a), (j, first_a, first_b)
        for split in ("val", "test"):
            if adaptive:  # a few images' accuracy jumps; the loss moves by a few percent at most
                # Adagrad's first step is lr·sign(g): where g is rounding noise (the weights of an input
                # pixel that is constant over the batch, which batch norm cancels), any other order of
                # float sums is a whole step the other way. Its val loss moved 1.7-2.2%; the rest < 0.1%.
                assert abs(a[split]["loss"] - b[split]["loss"]) <= 0.05 * a[split]["loss"], (j, split)
            else:
                assert abs(a[split]["acc"] - b[split]["acc"]) <= 0.02, (j, split)
        assert b["best_epoch"] is not None and b["train_images_per_s"] > 0
        assert {p.name for p in (fused_dir / str(j) / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
        scalars_a, sessions_a = tensorboard(basic_dir / str(j))
        scalars_b, sessions_b = tensorboard(fused_dir / str(j))
        first_steps = [v for _, v in scalars_a["train/loss_step"][:2]], [v for _, v in scalars_b["train/loss_step"][:2]]
        # The same weights, batches and masks: the loss before any update to float rounding, and after
        # one (Adagrad's lr·sign(g) on rounding-noise gradients, above, moved it by up to 1.7e-5).
        torch.testing.assert_close(first_steps[0][0], first_steps[1][0], rtol=1e-5, atol=0)
        torch.testing.assert_close(*first_steps, rtol=1e-4 if adaptive else 1e-5, atol=0)
        assert scalars_a.keys() == scalars_b.keys()  # the same charts
        # Its own schedule, stepped once per step even where members share one optimizer and schedule.
        assert [v for _, v in scalars_b["lr"]] == pytest.approx([v for _, v in scalars_a["lr"]], rel=1e-6)
        for tag in scalars_a:  # at the same steps
            assert [s for s, _ in scalars_a[tag]] == [s for s, _ in scalars_b[tag]], tag
        assert sessions_a == sessions_b == 1


def test_a_fused_sweep_writes_each_job_as_its_separate_run(tmp_path):
    args = [*QUICK, "dropout=0.3", "seed=0,1,2"]  # the default Adam with one-cycle, batch norm
    fused, fused_dir = sweep(tmp_path, "fused", *args)
    assert fused.returncode == 0, fused.stderr[-3000:]
    assert "ablab: fused launcher: jobs 0, 1, 2 as one fused group of 3" in fused.stderr
    basic, basic_dir = sweep(tmp_path, "basic", *args, launcher="basic")
    assert basic.returncode == 0, basic.stderr[-3000:]
    assert_as_separate_runs(fused_dir, basic_dir, 3)
    for j in range(3):  # each member's per-example predictions, as its run writes them
        for split in ("val", "test"):
            pred, label = predictions.read(fused_dir / str(j), split)
            assert (pred == label).mean() == pytest.approx(read_results(fused_dir / str(j))[split]["acc"], abs=1e-6)
    # A member's checkpoint is any run's: eval.py gives its recorded test metrics.
    out = tmp_path / "eval"
    proc = run_cli(f"ckpt_path={fused_dir}/1/checkpoints/best.ckpt", f"hydra.run.dir={out}", "viz=none",
                   "trainer.limit_test_batches=2", script="eval.py")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "eval.json").read_text())["test"] == read_results(fused_dir / "1")["test"]
    # and predict.py reads it as any run's (a Kaggle-style CSV of 5 images: a row and a class each).
    images = tmp_path / "images.csv"
    pixels = torch.randint(0, 256, (5, 28 * 28)).tolist()
    images.write_text("\n".join([",".join(f"pixel{i}" for i in range(28 * 28))] + [",".join(map(str, p)) for p in pixels]))
    proc = run_cli(f"ckpt_path={fused_dir}/1/checkpoints/best.ckpt", f"input={images}", f"hydra.run.dir={out}_predict",
                   script="predict.py")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = (tmp_path / "eval_predict" / "predictions.csv").read_text().splitlines()
    assert len(rows) == 6 and all(row.split(",")[1] in [str(c) for c in range(10)] for row in rows[1:])
    # Run again into the same directory: every job completed, nothing is trained again.
    again = run_cli("-m", "hydra/launcher=fused", *args, f"hydra.sweep.dir={fused_dir}")
    assert again.returncode == 0 and "fused group" not in again.stderr


@pytest.mark.slow
def test_a_member_whose_best_epoch_is_not_its_last_is_finished_as_its_run(tmp_path):
    # lr=1e-9 learns nothing, so its first epoch stays its best; lr=0.01 improves to its last. The
    # group validates the first member's best checkpoint (only its: the other's last validation
    # stands) and tests both in one pass, as each run's finish would one by one.
    args = [*QUICK, "optimizer.lr=1e-9,0.01"]
    fused, fused_dir = sweep(tmp_path, "fused", *args)
    assert fused.returncode == 0, fused.stderr[-3000:]
    assert "as one fused group of 2" in fused.stderr
    basic, basic_dir = sweep(tmp_path, "basic", *args, launcher="basic")
    assert basic.returncode == 0, basic.stderr[-3000:]
    assert_as_separate_runs(fused_dir, basic_dir, 2)  # val/* points of the best epoch's validation included
    stale, fresh = read_results(fused_dir / "0"), read_results(fused_dir / "1")
    assert (stale["best_epoch"], fresh["best_epoch"]) == (1, 2)
    assert stale["val"]["acc"] == stale["history"][0]["val_acc"]  # its best weights were validated
    assert fresh["val"]["acc"] == fresh["history"][1]["val_acc"]
    for j in range(2):  # tested in the group, as in its run
        assert read_results(fused_dir / str(j))["test"]["acc"] == pytest.approx(
            read_results(basic_dir / str(j))["test"]["acc"], abs=0.02)


@pytest.mark.slow
def test_every_optimizer_fused_as_its_separate_runs(tmp_path):
    args = [*QUICK, "optimizer=sgd,nesterov,adam,adamw,rmsprop,adagrad", "seed=0,1"]
    fused, fused_dir = sweep(tmp_path, "fused", *args)
    assert fused.returncode == 0, fused.stderr[-3000:]
    assert "as one fused group of 12" in fused.stderr  # each member its own optimizer
    basic, basic_dir = sweep(tmp_path, "basic", *args, launcher="basic")
    assert basic.returncode == 0, basic.stderr[-3000:]
    assert_as_separate_runs(fused_dir, basic_dir, 12, adaptive=True)


@pytest.mark.slow
def test_models_without_a_fused_form_run_one_by_one_and_say_so(tmp_path):
    args = ["model=cnn,lenet5,resnet,rnn,alexnet,vgg", "seed=0,1", *QUICK[2:]]
    proc, out = sweep(tmp_path, "models", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = [line for line in proc.stderr.splitlines() if line.startswith("ablab: fused launcher:")]
    for i, model in enumerate(["CNN", "LeNet5", "ResNet", "RNN", "AlexNet", "VGG"]):
        assert any(f"jobs {2 * i}, {2 * i + 1} one by one: model" in line for line in said), (model, said)
    assert all(read_results(out / str(j))["status"] == "completed" for j in range(12))
    wide, _ = sweep(tmp_path, "wide", "model=mlp", "model.hidden=[784,784]", "seed=0,1", *QUICK[2:])
    assert wide.returncode == 0 and "jobs 0, 1 one by one: an MLP of 1,2" in wide.stderr  # 1.24M weights
    assert "weights trains no faster fused on a CPU (hydra.launcher.cpu_max_params=600000)" in wide.stderr


@pytest.mark.slow
def test_a_diverged_member_stops_alone(tmp_path):
    args = [*QUICK, "optimizer=sgd", "norm=none", "optimizer.lr=0.05,1e30,0.1"]
    fused, fused_dir = sweep(tmp_path, "fused", *args)
    basic, basic_dir = sweep(tmp_path, "basic", *args, launcher="basic")
    assert "as one fused group of 3" in fused.stderr
    a, b = read_results(basic_dir / "1"), read_results(fused_dir / "1")
    assert a["status"] == b["status"] == "diverged" and a["error"] == b["error"]  # the same step, the same words
    assert same(a["history"], b["history"])
    for j in (0, 2):  # the others as if it were not there
        x, y = read_results(basic_dir / str(j)), read_results(fused_dir / str(j))
        assert y["status"] == "completed" and abs(x["val"]["acc"] - y["val"]["acc"]) <= 0.02
    assert fused.returncode == basic.returncode


@pytest.mark.slow
def test_a_killed_fused_group_resumes_each_member_exactly(tmp_path):
    once = tmp_path / "killed"
    args = [*QUICK, "trainer.max_epochs=3", "dropout=0.2", "augment=digits", "seed=0,1,2",
            "+callbacks.kill._target_=tests.fault_callbacks.KillAt", "+callbacks.kill.epoch=1",
            "+callbacks.kill.batch=2", f"+callbacks.kill.once={once}"]
    killed, parts = sweep(tmp_path, "parts", *args)
    assert killed.returncode == -9
    assert all(read_results(parts / str(j))["status"] == "running" for j in range(3))
    resumed = run_cli("-m", "hydra/launcher=fused", *args, f"hydra.sweep.dir={parts}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "as one fused group of 3" in resumed.stderr
    whole, whole_dir = sweep(tmp_path, "whole", *args)  # `once` exists now: nothing is killed
    assert whole.returncode == 0, whole.stderr[-3000:]
    for j in range(3):
        a, b = read_results(whole_dir / str(j)), read_results(parts / str(j))
        assert same(a["history"], b["history"]) and same(a["val"], b["val"]) and same(a["test"], b["test"])
        assert same(tensorboard(whole_dir / str(j))[0], tensorboard(parts / str(j))[0])
    assert not list(parts.glob(".fused-resume-*"))


@pytest.mark.slow
def test_an_interrupted_group_leaves_each_member_as_an_interrupted_run(tmp_path):
    out = tmp_path / "sweep"
    command = [sys.executable, "train.py", "-m", "hydra/launcher=fused", "model=mlp", "model.hidden=[32,16]",
               "seed=0,1", "trainer.max_epochs=1000", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
               "viz=none", f"hydra.sweep.dir={out}"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 120
    while not all((out / str(j) / "checkpoints" / "last.ckpt").exists() for j in range(2)) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    for j in range(2):
        record = read_results(out / str(j))
        assert record["status"] == "interrupted" and record["history"] and record["wall_s"] > 0


def test_the_launcher_is_a_hydra_group_with_its_settings():
    from hydra import compose, initialize_config_dir

    from ablab.paths import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cfg = compose("train", overrides=["hydra/launcher=fused", "hydra.launcher.max_members=4"],
                      return_hydra_config=True)
    assert cfg.hydra.launcher.max_members == 4 and cfg.hydra.launcher._target_.endswith("FusedLauncher")


def test_a_study_names_its_launcher_and_the_command_line_wins(tmp_path, monkeypatch):
    from ablab.study import plan, spec

    text = (spec.study_dir() / "mnist_mlp_grid.yaml").read_text()
    (tmp_path / "grid.yaml").write_text(text + "launcher: fused\n")
    (tmp_path / "scaled.yaml").write_text(text.replace("  quick:\n", "  quick:\n    launcher: fused\n"))
    monkeypatch.setattr(spec, "study_dir", lambda: tmp_path)
    study = spec.load("grid", "quick", {})
    stage = study.stages[0]
    assert "hydra/launcher=fused" in plan.command(study, stage, [], [])
    mine = plan.command(study, stage, [], ["hydra/launcher=basic"])
    assert "hydra/launcher=basic" in mine and "hydra/launcher=fused" not in mine
    assert "hydra/launcher=fused" in plan.command(spec.load("scaled", "quick", {}), stage, [], [])
    assert not any("launcher" in o for o in plan.command(spec.load("scaled", "paper", {}), stage, [], []))
