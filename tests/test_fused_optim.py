"""FusedOptimizer against torch's own optimizers: K=3 members with different hyperparameters, stacked,
take the steps that three separate torch optimizers take over each member's own parameters; their
states are the separate optimizers' state dicts, and they go out and back in torch's format."""
import copy
import io
import warnings

import pytest
import torch
from torch import nn
from torch.optim import SGD, Adadelta, Adagrad, Adam, AdamW, NAdam, RMSprop

from ablab.fused.optim import FusedOptimizer, signature, unsupported

K = 3
SHAPES = [(5, 4), (4,), (2, 3, 2)]

# (class, settings shared by all members, each member's own numeric hyperparameters)
CASES = {
    "sgd": (SGD, {}, [dict(lr=0.1), dict(lr=0.05, weight_decay=0.01), dict(lr=0.2, weight_decay=0.3)]),
    "sgd-momentum": (SGD, {}, [dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.5, dampening=0.1),
                               dict(lr=0.02, momentum=0.99, dampening=0.5, weight_decay=0.1)]),
    "sgd-nesterov": (SGD, dict(nesterov=True), [dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.5),
                                                dict(lr=0.2, momentum=0.7, weight_decay=0.05)]),
    "sgd-maximize": (SGD, dict(maximize=True), [dict(lr=0.1, momentum=0.9, weight_decay=0.1),
                                                dict(lr=0.05, momentum=0.3), dict(lr=0.01, momentum=0.6)]),
    "adam": (Adam, {}, [dict(lr=0.01), dict(lr=0.03, betas=(0.8, 0.99), weight_decay=0.1),
                        dict(lr=0.002, betas=(0.5, 0.9), eps=1e-3)]),
    "adam-amsgrad-maximize": (Adam, dict(amsgrad=True, maximize=True),
                              [dict(lr=0.01), dict(lr=0.03, betas=(0.8, 0.99), weight_decay=0.1),
                               dict(lr=0.002, betas=(0.5, 0.9), eps=1e-3)]),
    "adamw": (AdamW, {}, [dict(lr=0.01), dict(lr=0.03, weight_decay=0.3, betas=(0.7, 0.95)),
                          dict(lr=0.002, weight_decay=0.0)]),
    "adamw-amsgrad": (AdamW, dict(amsgrad=True), [dict(lr=0.01), dict(lr=0.03, weight_decay=0.3),
                                                  dict(lr=0.1, weight_decay=0.1, eps=1e-4)]),
    "rmsprop": (RMSprop, {}, [dict(lr=0.01), dict(lr=0.02, alpha=0.9, weight_decay=0.1),
                              dict(lr=0.005, alpha=0.5, eps=1e-3)]),
    "rmsprop-centered-momentum": (RMSprop, dict(centered=True),
                                  [dict(lr=0.01, momentum=0.9), dict(lr=0.02, alpha=0.9, momentum=0.5),
                                   dict(lr=0.005, alpha=0.8, momentum=0.1, weight_decay=0.1)]),
    "rmsprop-momentum-maximize": (RMSprop, dict(maximize=True),
                                  [dict(lr=0.01, momentum=0.9), dict(lr=0.02, momentum=0.3, eps=1e-4),
                                   dict(lr=0.003, momentum=0.6, weight_decay=0.2)]),
    "adagrad": (Adagrad, {}, [dict(lr=0.1), dict(lr=0.05, lr_decay=0.1, initial_accumulator_value=0.1),
                              dict(lr=0.2, lr_decay=0.01, weight_decay=0.1, eps=1e-4, initial_accumulator_value=0.5)]),
    "adagrad-maximize": (Adagrad, dict(maximize=True), [dict(lr=0.1, lr_decay=0.3), dict(lr=0.05, weight_decay=0.2),
                                                        dict(lr=0.2, initial_accumulator_value=1.0)]),
}


class Run:
    """The stacked parameters with a FusedOptimizer, and each member alone with its own torch optimizer."""

    def __init__(self, case: str, seed: int = 0):
        self.cls, self.shared, self.hps = CASES[case]
        g = torch.Generator().manual_seed(seed)
        own = [[torch.randn(s, generator=g) for s in SHAPES] for _ in range(K)]
        self.stacked = [nn.Parameter(torch.stack([own[k][i] for k in range(K)])) for i in range(len(SHAPES))]
        self.alone = [[nn.Parameter(t.clone()) for t in own[k]] for k in range(K)]
        self.separate = [self.cls(self.alone[k], **self.shared, **self.hps[k]) for k in range(K)]
        self.fused = FusedOptimizer(self.stacked, self.shadows(self.hps))
        self.grads = torch.Generator().manual_seed(seed + 1)

    def shadows(self, hps):
        return [self.cls([nn.Parameter(torch.zeros(1))], **self.shared, **hp) for hp in hps]

    def other_hps(self) -> list[dict]:
        """Hyperparameters unlike each member's own (the next member's, lr 0.5): what a load must replace."""
        return [{**self.hps[(k + 1) % K], "lr": 0.5} for k in range(K)]

    def gradients(self, skip: int | None = None) -> list[list[torch.Tensor | None]]:
        """Random gradients [member][parameter]; parameter `skip` gets none."""
        return [[None if i == skip else torch.randn(s, generator=self.grads) for i, s in enumerate(SHAPES)]
                for _ in range(K)]

    def step(self, grads, fused: bool = True, separate: bool = True) -> None:
        for i, p in enumerate(self.stacked):
            p.grad = None if grads[0][i] is None else torch.stack([grads[k][i] for k in range(K)])
            for k in range(K):
                self.alone[k][i].grad = grads[k][i]
        if fused:
            self.fused.step()
        if separate:
            for opt in self.separate:
                opt.step()

    def assert_params_agree(self, members=range(K)) -> None:
        for k in members:
            for i, p in enumerate(self.stacked):
                torch.testing.assert_close(p.detach()[k], self.alone[k][i].detach(), msg=f"member {k} param {i}")


def assert_same_state_dict(got: dict, want: dict) -> None:
    assert set(got) == set(want) == {"state", "param_groups"}
    assert list(got["state"]) == list(want["state"])
    for i, state in want["state"].items():
        assert list(got["state"][i]) == list(state), f"param {i}: state keys"
        for key, value in state.items():
            torch.testing.assert_close(got["state"][i][key], value, msg=f"param {i} {key}")
    assert got["param_groups"] == want["param_groups"]


def assert_equal_states(a: dict, b: dict) -> None:
    """Bit for bit."""
    assert list(a["state"]) == list(b["state"])
    for i in a["state"]:
        assert list(a["state"][i]) == list(b["state"][i])
        for key in a["state"][i]:
            assert torch.equal(a["state"][i][key], b["state"][i][key]), f"param {i} {key}"
    assert a["param_groups"] == b["param_groups"]


def saved_and_loaded(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer)


@pytest.mark.parametrize("case", CASES)
def test_members_step_as_separate_torch_optimizers(case):
    run = Run(case)
    for t in range(6):
        run.step(run.gradients(skip=1 if t == 2 else None))  # a parameter without a gradient is skipped
        run.assert_params_agree()
        for k in range(K):
            assert_same_state_dict(run.fused.member_state_dict(k), run.separate[k].state_dict())
        if t == 0:  # torch's own state_dict() holds live tensors; member_state_dict's are copies
            first = [(run.fused.member_state_dict(k), copy.deepcopy(run.separate[k].state_dict())) for k in range(K)]
    for got, want in first:
        assert_same_state_dict(got, want)


@pytest.mark.parametrize("case", ["sgd-nesterov", "adam-amsgrad-maximize", "adamw", "rmsprop-centered-momentum",
                                  "adagrad"])
def test_member_state_dicts_round_trip(case):
    run = Run(case)
    for _ in range(3):
        run.step(run.gradients())
    # Out in torch's format (through torch.save), into a new optimizer whose members start with other
    # hyperparameters: it must continue exactly as the original does.
    states = saved_and_loaded([run.fused.member_state_dict(k) for k in range(K)])
    twin_params = [nn.Parameter(p.detach().clone()) for p in run.stacked]
    twin = FusedOptimizer(twin_params, run.shadows(run.other_hps()))
    twin.load_member_state_dicts(states)
    for k in range(K):
        assert_equal_states(twin.member_state_dict(k), run.fused.member_state_dict(k))
    for _ in range(3):
        grads = run.gradients()
        run.step(grads, separate=False)
        for i, p in enumerate(twin_params):
            p.grad = run.stacked[i].grad.clone()
        twin.step()
        for p, q in zip(twin_params, run.stacked):
            assert torch.equal(p, q)


@pytest.mark.parametrize("case", ["sgd-momentum", "adam", "rmsprop-centered-momentum", "adagrad"])
def test_loading_separate_optimizers_states_continues_them(case):
    run = Run(case)
    for _ in range(2):
        run.step(run.gradients(), fused=False)  # only the separate optimizers have stepped
    for i, p in enumerate(run.stacked):
        with torch.no_grad():
            p.copy_(torch.stack([run.alone[k][i] for k in range(K)]))
    fused = FusedOptimizer(run.stacked, run.shadows(run.other_hps()))
    fused.load_member_state_dicts([saved_and_loaded(opt.state_dict()) for opt in run.separate])
    run.fused = fused
    for _ in range(3):
        run.step(run.gradients())
        run.assert_params_agree()
    for k in range(K):
        assert_same_state_dict(fused.member_state_dict(k), run.separate[k].state_dict())


@pytest.mark.parametrize("case", ["sgd-nesterov", "adamw-amsgrad", "adagrad"])
def test_fused_state_dict_round_trips(case):
    run = Run(case)
    for _ in range(2):
        run.step(run.gradients(), separate=False)
    run.fused.freeze(2)
    run.step(run.gradients(), separate=False)
    saved = saved_and_loaded(run.fused.state_dict())
    twin_params = [nn.Parameter(p.detach().clone()) for p in run.stacked]
    twin = FusedOptimizer(twin_params, run.shadows(run.other_hps()))
    twin.load_state_dict(saved)
    assert torch.equal(twin.frozen, run.fused.frozen)
    for k in range(K):
        assert_equal_states(twin.member_state_dict(k), run.fused.member_state_dict(k))
    for _ in range(2):
        run.step(run.gradients(), separate=False)
        for i, p in enumerate(twin_params):
            p.grad = run.stacked[i].grad.clone()
        twin.step()
        for p, q in zip(twin_params, run.stacked):
            assert torch.equal(p, q)


def test_each_members_lr_scheduler_is_honoured():
    run = Run("sgd-momentum")
    gammas = [0.5, 0.1, 1.0]
    fused_schedulers = [torch.optim.lr_scheduler.StepLR(s, step_size=2, gamma=g)
                        for s, g in zip(run.fused.shadows, gammas)]
    separate_schedulers = [torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=g)
                           for o, g in zip(run.separate, gammas)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(6):
            run.step(run.gradients())
            run.assert_params_agree()
            for scheduler in fused_schedulers + separate_schedulers:
                scheduler.step()
    assert not [w for w in caught if "lr_scheduler.step()" in str(w.message)]  # each member's step counted
    lrs = [s.param_groups[0]["lr"] for s in run.fused.shadows]
    assert lrs == [o.param_groups[0]["lr"] for o in run.separate]
    assert lrs[0] != run.hps[0]["lr"] and lrs[2] == run.hps[2]["lr"]  # the schedules did act, each its own way
    for k in range(K):  # the scheduler's initial_lr is part of the member's param_group
        assert_same_state_dict(run.fused.member_state_dict(k), run.separate[k].state_dict())


@pytest.mark.parametrize("case", ["sgd-nesterov", "adam-amsgrad-maximize", "rmsprop-centered-momentum", "adagrad"])
def test_a_frozen_member_stays_as_it_was(case):
    run = Run(case)
    for _ in range(2):
        run.step(run.gradients())
    run.fused.freeze(1)
    params_then = [p.detach()[1].clone() for p in run.stacked]
    others_then = [p.detach()[[0, 2]].clone() for p in run.stacked]
    state_then = run.fused.member_state_dict(1)
    for t in range(3):
        grads = run.gradients(skip=0 if t == 1 else None)
        grads[1] = [None if g is None else torch.full_like(g, float("nan")) for g in grads[1]]  # it diverged
        run.step(grads)
        run.assert_params_agree(members=[0, 2])  # the others go on as alone
    for p, then in zip(run.stacked, params_then):
        assert torch.equal(p.detach()[1], then)
    assert_equal_states(run.fused.member_state_dict(1), state_then)
    for p, then in zip(run.stacked, others_then):
        assert not torch.equal(p.detach()[[0, 2]], then)


def test_step_calls_the_closure_with_gradients_on():
    run = Run("adam")

    def closure():
        assert torch.is_grad_enabled()
        run.stacked[0].grad = torch.ones_like(run.stacked[0])
        return 1.5

    with torch.no_grad():
        assert run.fused.step(closure) == 1.5
    assert run.fused.state[run.stacked[0]]["step"].tolist() == [1.0] * K


def test_unsupported_names_what_cannot_be_fused():
    p = [nn.Parameter(torch.zeros(2))]
    for opt in [SGD(p, lr=0.1), SGD(p, lr=0.1, momentum=0.9, nesterov=True), Adam(p), AdamW(p, amsgrad=True),
                RMSprop(p, centered=True), Adagrad(p, lr_decay=0.1)]:
        assert unsupported(opt) is None, type(opt).__name__
    assert "Adadelta" in unsupported(Adadelta(p))
    assert "NAdam" in unsupported(NAdam(p))
    assert "differentiable" in unsupported(SGD(p, lr=0.1, differentiable=True))
    assert unsupported(Adam(p, fused=True)) is None  # the same algorithm in one kernel, as the group step is
    assert "capturable" in unsupported(Adam(p, capturable=True))
    two_groups = SGD([{"params": p}, {"params": [nn.Parameter(torch.zeros(1))]}], lr=0.1)
    assert unsupported(two_groups) is not None


def test_signature_keeps_code_paths_apart_and_numbers_free():
    p = [nn.Parameter(torch.zeros(2))]
    assert signature(SGD(p, lr=0.1)) == signature(SGD(p, lr=0.2, weight_decay=0.1))
    assert signature(SGD(p, lr=0.1, momentum=0.9, nesterov=True)) != signature(SGD(p, lr=0.1, momentum=0.9))
    assert signature(SGD(p, lr=0.1, momentum=0.9)) != signature(SGD(p, lr=0.1))
    assert signature(SGD(p, lr=0.1, momentum=0.9)) == signature(SGD(p, lr=0.1, momentum=0.5, dampening=0.1))
    assert signature(Adam(p, amsgrad=True)) != signature(Adam(p))
    assert signature(Adam(p)) != signature(AdamW(p))
    assert signature(Adam(p, lr=0.1, betas=(0.5, 0.9))) == signature(Adam(p, lr=0.2))
    assert signature(RMSprop(p, centered=True)) != signature(RMSprop(p))
    assert signature(RMSprop(p, momentum=0.9)) != signature(RMSprop(p))
    with pytest.raises(ValueError, match="Adadelta"):
        signature(Adadelta(p))
    stacked = [nn.Parameter(torch.zeros(2, 3))]
    with pytest.raises(ValueError, match="differ"):
        FusedOptimizer(stacked, [SGD(p, lr=0.1, momentum=0.9, nesterov=True), SGD(p, lr=0.1, momentum=0.9)])
    with pytest.raises(ValueError, match="stacked"):
        FusedOptimizer(stacked, [SGD(p, lr=0.1)] * 3)  # 2 slices for 3 members
