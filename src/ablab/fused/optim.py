"""The optimizer of a fused group: torch's own optimizers, over the members' slices of the stacks.

Members may differ in their optimizer settings (lr, weight decay, momentum, betas, even the
optimizer itself), so each keeps the optimizer its separate run builds, from its own config.
Members whose settings are equal (a seed or fold sweep; `share` says which: the launcher puts
them next to each other) share one: torch's optimizer over their range of every stacked
parameter (`stacked.data[a:b]`, leaf tensors sharing storage with the stacks), whose gradient
is that range of the stacked gradient. Stepping it updates the stacks in place, in one kernel
call for the whole range.

Why that is each member's own update, bit for bit: the optimizers shared this way
(`ELEMENTWISE_OPTIMIZERS`) update every element from that element's weight, gradient and state alone,
with per-tensor scalars (the step count, the lr) that are equal across the range. So member k's
slice of the shared update is what its separate run's optimizer computes, on torch's own code
path for its settings (its fused kernel with `fused=true`, ablab's default). An optimizer
outside that list (one with per-matrix statistics) gets one instance per member, over views of
the member's own shapes. `MemberOptimizer` is a member's optimizer as its callbacks and
checkpoints see it: the param groups it steps with, and its state in torch's format.

Why not one update over all stacks with per-member hyperparameter tensors: measured on a 2-core CPU for 8 members of the 784-128-64-10 MLP, such a step took
7.2 ms for Adam, 3.7 ms for SGD with momentum, against 0.99 ms and 0.47 ms for the members' own
fused-kernel steps; and it would only approximate torch's fused kernels to float rounding.
For 16 members with equal Adam settings, one shared step over the stacks took 0.5 ms against
1.7 ms for 16 steps of one member each (a microbenchmark of the optimizer step alone).

A member that diverged is frozen: its slice of the weights and state is put back after every
later step of its range, so they stay as they were when it stopped.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable

import torch
from torch.optim import Optimizer

# Optimizers whose update of each element depends on that element alone (see the docstring).
ELEMENTWISE_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.Adagrad,
               torch.optim.Adamax, torch.optim.NAdam, torch.optim.RAdam, torch.optim.Adadelta)


class Range:
    """One torch optimizer over members start..stop-1 (`sliced`: over [start:stop] of every stack,
    otherwise over member `start`'s own shapes)."""

    def __init__(self, stacked: list[torch.Tensor], start: int, stop: int, make: Callable, sliced: bool):
        self.stacked, self.start, self.stop, self.sliced = stacked, start, stop, sliced
        self.views = [(p.data[start:stop] if sliced else p.data[start]).requires_grad_() for p in stacked]
        self.optimizer = make(self.views)

    def step(self) -> None:
        for view, p in zip(self.views, self.stacked):
            view.grad = None if p.grad is None else (p.grad[self.start:self.stop] if self.sliced else p.grad[self.start])
        self.optimizer.step()

    def slice_of(self, t: torch.Tensor, i: int, k: int) -> torch.Tensor:
        """Member k's part of a state tensor of parameter i (a scalar such as the step count is shared)."""
        if self.sliced and t.shape == self.views[i].shape:
            return t[k - self.start]
        return t

    def member_state(self, k: int) -> dict:
        state = self.optimizer.state_dict()
        own = {i: {name: self.slice_of(v, i, k).clone() if torch.is_tensor(v) else v for name, v in s.items()}
               for i, s in state["state"].items()}
        return {"state": own, "param_groups": state["param_groups"]}

    def load_member_states(self, states: list[dict]) -> None:
        """The range's state from its members' own (torch's format, one per member)."""
        if not self.sliced:
            self.optimizer.load_state_dict(states[0])
            return
        first = states[0]
        stacked = {}
        for i, s in first["state"].items():
            shape = self.views[int(i)].shape[1:]
            stacked[i] = {name: torch.stack([st["state"][i][name] for st in states])
                          if torch.is_tensor(v) and v.shape == shape else v for name, v in s.items()}
        self.optimizer.load_state_dict({"state": stacked, "param_groups": first["param_groups"]})


class MemberOptimizer:
    """Member k's optimizer, as its callbacks (`param_groups`) and its checkpoint (`state_dict`) see it."""

    def __init__(self, shared: Range, k: int):
        self.shared, self.k = shared, k

    @property
    def param_groups(self) -> list[dict]:
        return self.shared.optimizer.param_groups

    @property
    def optimizer(self) -> Optimizer:
        """The torch optimizer that steps this member (shared with the others of its range)."""
        return self.shared.optimizer

    def state_dict(self) -> dict:
        return self.shared.member_state(self.k)


class MemberOptimizers(Optimizer):
    def __init__(self, stacked: list[torch.nn.Parameter], factories: list[Callable],
                 share: list[Hashable | None] | None = None):
        super().__init__(stacked, {})  # the stacks: what Lightning zeroes and moves
        self.stacked = list(stacked)
        share = share or [None] * len(factories)
        self.ranges: list[Range] = []
        start = 0
        while start < len(factories):
            stop = start + 1
            while stop < len(factories) and share[start] is not None and share[stop] == share[start]:
                stop += 1
            self.ranges += self._ranges(start, stop, factories[start])
            start = stop
        self.members = [MemberOptimizer(r, k) for r in self.ranges for k in range(r.start, r.stop)]
        self.frozen = [False] * len(factories)
        self._kept: dict[int, tuple] = {}  # a frozen member's weights and state, put back after each step

    def _ranges(self, start: int, stop: int, make: Callable) -> list[Range]:
        shared = Range(self.stacked, start, stop, make, sliced=True)
        if isinstance(shared.optimizer, ELEMENTWISE_OPTIMIZERS):
            return [shared]
        return [Range(self.stacked, k, k + 1, make, sliced=False) for k in range(start, stop)]

    def range_of(self, k: int) -> Range:
        return self.members[k].shared

    def freeze(self, k: int) -> None:
        """Member k's weights and state stay exactly as they are from now on (it diverged)."""
        self.frozen[k] = True
        shared = self.range_of(k)
        if shared.sliced:
            weights = [p.detach()[k].clone() for p in self.stacked]
            state = {}  # its per-element state (a shared scalar such as the step count goes on for the others)
            for i, view in enumerate(shared.views):
                own = shared.optimizer.state.get(view, {})
                state[i] = {name: v[k - shared.start].clone() for name, v in own.items()
                            if torch.is_tensor(v) and v.shape == view.shape}
            self._kept[k] = (weights, state)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for shared in self.ranges:
            if all(self.frozen[shared.start:shared.stop]):
                continue
            shared.step()
            for k in range(shared.start, shared.stop):
                if k in self._kept:
                    self._put_back(shared, k)
        return loss

    def _put_back(self, shared: Range, k: int) -> None:
        weights, state = self._kept[k]
        with torch.no_grad():
            for p, w in zip(self.stacked, weights):
                p[k].copy_(w)
            for i, kept in state.items():
                own = shared.optimizer.state.get(shared.views[i], {})  # .get: the state is a defaultdict
                for name, value in kept.items():
                    shared.slice_of(own[name], i, k).copy_(value)

    def state_dict(self) -> dict:
        return {"members": [m.state_dict() for m in self.members], "frozen": list(self.frozen)}

    def load_state_dict(self, state_dict: dict) -> None:
        for shared in self.ranges:
            shared.load_member_states(state_dict["members"][shared.start:shared.stop])
        for k, frozen in enumerate(state_dict.get("frozen", self.frozen)):
            if frozen and not self.frozen[k]:
                self.freeze(k)
