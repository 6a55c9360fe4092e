"""One optimizer step for K members whose parameters are stacked along a leading dimension.

Why this exists: K members of one architecture train as one module whose every parameter is
[K, *member_shape], but an ablation's members differ precisely in their optimizer settings (lr,
weight decay, momentum, betas...). A torch optimizer over the stacked tensors has one set of
hyperparameters, and torch.func has no optimizers at all. So each member keeps a real torch
optimizer over a dummy parameter, its "shadow", that is never stepped: it carries the member's
param_group, which the member's own LR scheduler changes as it would alone. `FusedOptimizer`
reads every shadow's hyperparameters at each step, makes them [K, 1, ...] tensors and applies
torch's own update rule to the stacked tensors in a few whole-tensor ops per parameter.

The formulas follow torch's single-tensor code paths (torch/optim/{sgd,adam,rmsprop,adagrad}.py)
op by op: scalar arithmetic (bias corrections, 1 - beta, -lr) is done in float64 as torch does in
Python floats, then cast to the parameter's dtype as torch's kernels cast their scalars, so the
members agree with separate runs to float rounding. Each member's state can be taken out and put
back in torch's own format (`member_state_dict`, `load_member_state_dicts`).
"""
from __future__ import annotations

import copy

import torch
from torch.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

SUPPORTED = (SGD, Adam, AdamW, RMSprop, Adagrad)


def unsupported(optimizer: Optimizer) -> str | None:
    """Why this (shadow) optimizer cannot be fused, in a few words, or None when it can."""
    kind = type(optimizer)  # exactly these classes: a subclass may change the update
    if kind not in SUPPORTED:
        return f"{kind.__name__} has no fused form (only {', '.join(c.__name__ for c in SUPPORTED)})"
    if len(optimizer.param_groups) != 1:
        return "more than one param group"
    group = optimizer.param_groups[0]
    # `fused=True` (ablab's default for SGD, Adam and AdamW) is the same algorithm in one kernel: the
    # group's step is its own one update, equal to it to float rounding. These two change the algorithm's
    # contract (gradients through the step, CUDA-graph capture).
    for flag in ("differentiable", "capturable"):
        if group.get(flag):
            return f"{kind.__name__} with {flag}=True"
    return None


def signature(optimizer: Optimizer) -> tuple:
    """What must be equal between members for one fused step: the class and the settings that
    change the code path or the state's structure. Numeric hyperparameters may differ."""
    reason = unsupported(optimizer)
    if reason is not None:
        raise ValueError(f"cannot fuse this optimizer: {reason}")
    kind, group = type(optimizer), optimizer.param_groups[0]
    if kind is SGD:  # momentum 0 keeps no momentum_buffer
        return ("SGD", bool(group["momentum"] != 0), bool(group["nesterov"]), bool(group["maximize"]))
    if kind is RMSprop:  # momentum_buffer only when momentum > 0, grad_avg only when centered
        return ("RMSprop", bool(group["momentum"] > 0), bool(group["centered"]), bool(group["maximize"]))
    if kind is Adagrad:
        return ("Adagrad", bool(group["maximize"]))
    return (kind.__name__, bool(group["decoupled_weight_decay"]), bool(group["amsgrad"]), bool(group["maximize"]))


def _scalar_dtype() -> torch.dtype:
    # The dtype torch gives state["step"] (torch.optim.optimizer._get_scalar_dtype, non-fused).
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _coefficient_dtype(p: torch.Tensor) -> torch.dtype:
    # torch's kernels compute half and bfloat16 with float32 scalars (their "opmath" type).
    return p.dtype if p.dtype in (torch.float32, torch.float64) else torch.float32


class FusedOptimizer(Optimizer):
    """One update over stacked parameters [K, ...] of K members, each with its own
    hyperparameters, read at every step from shadows[k].param_groups[0]."""

    def __init__(self, params: list[torch.nn.Parameter], shadows: list[Optimizer]):
        params, self.shadows = list(params), list(shadows)
        if not self.shadows:
            raise ValueError("FusedOptimizer needs at least one member (shadow optimizer)")
        self._signature()  # refuses unsupported or mixed shadows before anything is built
        k = len(self.shadows)
        for p in params:
            if not isinstance(p, torch.Tensor) or p.dim() == 0 or p.shape[0] != k:
                raise ValueError(f"every parameter must be a tensor stacked as [{k}, ...] (one slice per member)")
            if p.is_complex():
                raise ValueError("complex parameters are not supported")
        super().__init__(params, {})
        self.frozen = torch.zeros(k, dtype=torch.bool)  # on the CPU, like torch's step counts
        if type(self.shadows[0]) is Adagrad:  # torch's Adagrad makes its state in __init__, not at the first step
            for p in self._params():
                self.state[p] = self._adagrad_state(p)

    # -- members ---------------------------------------------------------------------------------

    @property
    def k(self) -> int:
        return len(self.shadows)

    def freeze(self, k: int) -> None:
        """Leave member k's parameters and state exactly as they are from now on (it diverged)."""
        self.frozen[k] = True

    def _params(self) -> list[torch.Tensor]:
        return self.param_groups[0]["params"]

    def _signature(self) -> tuple:
        signatures = {signature(s) for s in self.shadows}
        if len(signatures) != 1:
            raise ValueError(f"members whose optimizers differ in kind cannot share one step: {sorted(signatures)}")
        return signatures.pop()

    def _group(self, k: int) -> dict:
        # Member k's param_group as torch's state_dict writes it (a copy), "params" excepted. Its
        # "param_names" name the shadow's dummy parameter, not the member's, so they are left out.
        return {key: copy.deepcopy(value) for key, value in self.shadows[k].param_groups[0].items()
                if key not in ("params", "param_names")}

    def _set_group(self, k: int, group: dict) -> None:
        self.shadows[k].param_groups[0].update(
            {key: copy.deepcopy(value) for key, value in group.items() if key not in ("params", "param_names")})

    # -- the step --------------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        kind = self._signature()  # again at each step: a scheduler or a load may have changed a member
        groups = [s.param_groups[0] for s in self.shadows]
        flags = groups[0]  # the settings in the signature, equal for all members
        hp = {key: torch.tensor([float(g[key]) for g in groups], dtype=torch.float64)
              for key in _NUMERIC[type(self.shadows[0])]}
        if "betas" in flags:
            hp["beta1"] = torch.tensor([float(g["betas"][0]) for g in groups], dtype=torch.float64)
            hp["beta2"] = torch.tensor([float(g["betas"][1]) for g in groups], dtype=torch.float64)
        update = _UPDATES[kind[0]]
        frozen = self.frozen.clone()
        for p in self._params():
            if p.grad is None:  # as torch: no gradient, no update and no step count
                continue
            if p.grad.is_sparse:
                raise RuntimeError("FusedOptimizer does not support sparse gradients")
            mask = frozen.to(p.device).view(_member_shape(p)) if frozen.any() else None
            state = self.state.get(p, {})
            if kind[0] == "Adagrad" and not state:  # e.g. a loaded state without this parameter's
                state = self._adagrad_state(p)
            grad = -p.grad if flags["maximize"] else p.grad
            update(p, grad, state, hp, flags, frozen, mask)
            if state:  # SGD without momentum keeps no state, as torch's
                self.state[p] = state
        for shadow in self.shadows:
            # The member's scheduler checks that its optimizer stepped first (and warns otherwise);
            # this step was the member's step.
            shadow._opt_called = True
        return loss

    def _adagrad_state(self, p: torch.Tensor) -> dict:
        # torch.full_like(p, initial_accumulator_value), each member with its own value (torch takes
        # it from the optimizer's defaults, i.e. the constructor's argument)
        init = torch.tensor([float(s.defaults["initial_accumulator_value"]) for s in self.shadows], dtype=torch.float64)
        init = init.to(device=p.device, dtype=p.dtype).view(_member_shape(p))
        return {"step": torch.zeros(self.k, dtype=_scalar_dtype()), "sum": init.expand_as(p).clone()}

    # -- state in torch's per-member format --------------------------------------------------------

    def member_state_dict(self, k: int) -> dict:
        """Member k's optimizer state exactly as its own torch optimizer's state_dict() would be after
        training alone (member parameter i is params[i][k]); tensors are copies."""
        state = {}
        for i, p in enumerate(self._params()):
            if self.state.get(p):
                state[i] = {key: value[k].clone() for key, value in self.state[p].items()}
        return {"state": state, "param_groups": [{**self._group(k), "params": list(range(len(self._params())))}]}

    def load_member_state_dicts(self, states: list[dict]) -> None:
        """Stack K member state dicts (torch's format) into this optimizer's state, and put each
        member's hyperparameters back into its shadow's param_group."""
        if len(states) != self.k:
            raise ValueError(f"{len(states)} member state dicts for {self.k} members")
        params = self._params()
        for member in states:
            if len(member["param_groups"]) != 1 or len(member["param_groups"][0]["params"]) != len(params):
                raise ValueError(f"a member state dict must hold one param group of {len(params)} parameters")
        new_state = {}
        for i, p in enumerate(params):
            per_member = [member["state"].get(i) for member in states]
            if all(s is None for s in per_member):
                continue
            if any(s is None for s in per_member) or len({tuple(s) for s in per_member}) != 1:
                found = [s and list(s) for s in per_member]
                raise ValueError(f"parameter {i}: the members' optimizer states differ in kind ({found})")
            new_state[p] = {key: self._stack(p, key, [s[key] for s in per_member]) for key in per_member[0]}
        before = [self._group(k) for k in range(self.k)]
        for k, member in enumerate(states):
            self._set_group(k, member["param_groups"][0])
        try:
            self._signature()
        except ValueError:
            for k, group in enumerate(before):
                self._set_group(k, group)
            raise
        self.state.clear()
        self.state.update(new_state)

    @staticmethod
    def _stack(p: torch.Tensor, key: str, values: list) -> torch.Tensor:
        if key == "step":  # a 0-dim tensor (or a number, in old checkpoints) per member, kept on the CPU
            return torch.tensor([float(v) for v in values], dtype=_scalar_dtype())
        for v in values:
            if tuple(v.shape) != tuple(p.shape[1:]):
                raise ValueError(f"state {key!r} has shape {tuple(v.shape)}, the member parameter {tuple(p.shape[1:])}")
        return torch.stack([v.to(device=p.device, dtype=p.dtype) for v in values])

    # Lightning saves and restores the fused optimizer itself: its state (stacked) and param group
    # come from torch's Optimizer; the members' hyperparameters and the frozen mask ride along.
    def state_dict(self) -> dict:
        packed = super().state_dict()
        packed["members"] = [self._group(k) for k in range(self.k)]
        packed["frozen"] = self.frozen.clone()
        return packed

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for k, group in enumerate(state_dict.get("members", [])):
            self._set_group(k, group)
        if "frozen" in state_dict:
            self.frozen = state_dict["frozen"].to(device="cpu", dtype=torch.bool).clone()


# -- the updates: torch's single-tensor code paths over [K, ...] tensors ----------------------------
#
# Each takes the parameter p [K, ...], its gradient (already negated for maximize), its state dict
# (filled on the first step, as torch does), the members' numeric hyperparameters as float64 [K]
# vectors on the CPU, the shared flags, and the frozen members (a CPU bool [K] and, when any is
# frozen, a [K, 1, ...] mask for p).

_NUMERIC = {
    SGD: ("lr", "momentum", "dampening", "weight_decay"),
    Adam: ("lr", "eps", "weight_decay"),
    AdamW: ("lr", "eps", "weight_decay"),
    RMSprop: ("lr", "alpha", "eps", "weight_decay", "momentum"),
    Adagrad: ("lr", "lr_decay", "eps", "weight_decay"),
}


def _member_shape(p: torch.Tensor) -> list[int]:
    return [p.shape[0]] + [1] * (p.dim() - 1)  # [K, 1, ...]: broadcasts over each member's slice


def _per_member(p: torch.Tensor, *vectors: torch.Tensor) -> list[torch.Tensor]:
    """float64 [K] vectors on the CPU -> [K, 1, ...] coefficients on p's device, in one transfer."""
    stacked = torch.stack(vectors).to(device=p.device, dtype=_coefficient_dtype(p))
    return list(stacked.view(len(vectors), *_member_shape(p)).unbind(0))


def _put(target: torch.Tensor, new: torch.Tensor, mask: torch.Tensor | None) -> None:
    """target <- new in place, except in frozen members' slices, which stay bit for bit."""
    target.copy_(new if mask is None else torch.where(mask, target, new))


def _lerp(start: torch.Tensor, end: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    # lerp wants one dtype; half/bfloat16 tensors are lifted to their coefficients' float32
    # (a no-op for float32 and float64, whose coefficients share their dtype)
    return torch.lerp(start.to(weight.dtype), end.to(weight.dtype), weight)


def _count_step(state: dict, frozen: torch.Tensor) -> torch.Tensor:
    """Add one to each unfrozen member's step (torch: step_t += 1); the new counts, as float64."""
    step = state["step"]
    state["step"] = torch.where(frozen, step, step + 1)
    return state["step"].to(torch.float64)  # torch reads it with .item(), a Python float


def _weight_decay(p, grad, hp, wd):
    # torch: if weight_decay != 0: grad = grad.add(param, alpha=weight_decay); a member whose decay
    # is 0 gets grad + 0 * param, which is grad exactly.
    return torch.addcmul(grad, p, wd) if bool(hp["weight_decay"].any()) else grad


def _sgd(p, grad, state, hp, flags, frozen, mask):
    neg_lr, wd, momentum, undamped = _per_member(p, -hp["lr"], hp["weight_decay"], hp["momentum"], 1 - hp["dampening"])
    grad = _weight_decay(p, grad, hp, wd)
    if flags["momentum"] != 0:
        buf = state.get("momentum_buffer")
        if buf is None:  # torch's first step: the buffer is a copy of the gradient (no dampening)
            buf = state["momentum_buffer"] = torch.zeros_like(p)  # zeros stay for a member frozen before it
            _put(buf, grad, mask)
        else:  # buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            _put(buf, torch.addcmul(buf * momentum, grad, undamped), mask)
        grad = torch.addcmul(grad, buf, momentum) if flags["nesterov"] else buf
    _put(p, torch.addcmul(p, grad, neg_lr), mask)  # param.add_(grad, alpha=-lr)


def _adam(p, grad, state, hp, flags, frozen, mask):
    if not state:
        state["step"] = torch.zeros(p.shape[0], dtype=_scalar_dtype())
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if flags["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    step = _count_step(state, frozen)
    lr, beta1, beta2 = hp["lr"], hp["beta1"], hp["beta2"]
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    decay, wd, one_minus_beta1, b2, one_minus_beta2, bc2_sqrt, neg_step_size, eps = _per_member(p, 
        1 - lr * hp["weight_decay"], hp["weight_decay"], 1 - beta1, beta2, 1 - beta2,
        bias_correction2 ** 0.5, -(lr / bias_correction1), hp["eps"])
    start = p
    if flags["decoupled_weight_decay"]:  # AdamW: param.mul_(1 - lr * weight_decay) before the moments
        if bool(hp["weight_decay"].any()):
            start = p * decay
    else:
        grad = _weight_decay(p, grad, hp, wd)
    exp_avg = _lerp(state["exp_avg"], grad, one_minus_beta1)  # exp_avg.lerp_(grad, 1 - beta1)
    # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2): addcmul computes (value * t1) * t2
    exp_avg_sq = torch.addcmul(state["exp_avg_sq"] * b2, grad * one_minus_beta2, grad)
    _put(state["exp_avg"], exp_avg, mask)
    _put(state["exp_avg_sq"], exp_avg_sq, mask)
    if flags["amsgrad"]:  # normalise by the largest second moment so far
        exp_avg_sq = torch.maximum(state["max_exp_avg_sq"], exp_avg_sq)
        _put(state["max_exp_avg_sq"], exp_avg_sq, mask)
    denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
    _put(p, torch.addcdiv(start, exp_avg * neg_step_size, denom), mask)  # addcdiv_(exp_avg, denom, value=-step_size)


def _rmsprop(p, grad, state, hp, flags, frozen, mask):
    if not state:
        state["step"] = torch.zeros(p.shape[0], dtype=_scalar_dtype())
        state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if flags["momentum"] > 0:
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if flags["centered"]:
            state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    _count_step(state, frozen)  # counted, as torch does, though the update never reads it
    neg_lr, wd, alpha, one_minus_alpha, eps, momentum = _per_member(p, 
        -hp["lr"], hp["weight_decay"], hp["alpha"], 1 - hp["alpha"], hp["eps"], hp["momentum"])
    grad = _weight_decay(p, grad, hp, wd)
    square_avg = torch.addcmul(state["square_avg"] * alpha, grad * one_minus_alpha, grad)
    _put(state["square_avg"], square_avg, mask)
    if flags["centered"]:  # the variance about the running mean instead of the raw second moment
        grad_avg = _lerp(state["grad_avg"], grad, one_minus_alpha)
        _put(state["grad_avg"], grad_avg, mask)
        avg = torch.addcmul(square_avg, grad_avg, grad_avg, value=-1).sqrt_()
    else:
        avg = square_avg.sqrt()
    avg = avg.add_(eps)
    if flags["momentum"] > 0:  # buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
        buf = torch.addcdiv(state["momentum_buffer"] * momentum, grad, avg)
        _put(state["momentum_buffer"], buf, mask)
        _put(p, torch.addcmul(p, buf, neg_lr), mask)
    else:  # param.addcdiv_(grad, avg, value=-lr)
        _put(p, torch.addcdiv(p, grad * neg_lr, avg), mask)


def _adagrad(p, grad, state, hp, flags, frozen, mask):
    step = _count_step(state, frozen)  # the state exists from __init__ (or a load)
    clr = hp["lr"] / (1 + (step - 1) * hp["lr_decay"])  # the learning rate decays with the member's step
    wd, neg_clr, eps = _per_member(p, hp["weight_decay"], -clr, hp["eps"])
    grad = _weight_decay(p, grad, hp, wd)
    total = torch.addcmul(state["sum"], grad, grad)  # state_sum.addcmul_(grad, grad, value=1)
    _put(state["sum"], total, mask)
    std = total.sqrt().add_(eps)
    _put(p, torch.addcdiv(p, grad * neg_clr, std), mask)  # param.addcdiv_(grad, std, value=-clr)


_UPDATES = {"SGD": _sgd, "Adam": _adam, "AdamW": _adam, "RMSprop": _rmsprop, "Adagrad": _adagrad}
