"""Adam (Kingma and Ba 2015) on the drag's latent variable, the update torch.optim.Adam makes with
its defaults (betas 0.9 and 0.999, eps 1e-8, no weight decay), in the same order of operations.

Why not torch.optim.Adam: creating one imports torch's compiler stack (torch._dynamo), which
costs about a second of CPU, a quarter of a short drag on the bundled model.
"""

from __future__ import annotations

import torch


class Adam:
    """zero_grad() then step() after each backward, as with a torch optimizer of one parameter."""

    def __init__(
        self,
        variable: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.variable, self.lr, self.betas, self.eps = variable, lr, betas, eps
        self.steps = 0
        self.exp_avg = torch.zeros_like(variable)
        self.exp_avg_sq = torch.zeros_like(variable)

    def zero_grad(self) -> None:
        self.variable.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grad = self.variable.grad
        if grad is None:
            return
        beta1, beta2 = self.betas
        self.steps += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self.lr / (1 - beta1**self.steps)
        denom = (self.exp_avg_sq.sqrt() / (1 - beta2**self.steps) ** 0.5).add_(self.eps)
        self.variable.addcdiv_(self.exp_avg, denom, value=-step_size)

    @staticmethod
    @torch.no_grad()
    def step_all(optimizers: list[Adam]) -> None:
        """step() of each of `optimizers` with torch's foreach ops, the same arithmetic: on a GPU
        one launch per op for all that share lr, betas and eps, not one per optimizer (a batch of
        drags, nodes.drag.many)."""
        groups: dict = {}
        for o in optimizers:
            if o.variable.grad is not None:
                groups.setdefault((o.lr, o.betas, o.eps), []).append(o)
        for (lr, (beta1, beta2), eps), live in groups.items():
            for o in live:
                o.steps += 1
            grads = [o.variable.grad for o in live]
            averages, squares = [o.exp_avg for o in live], [o.exp_avg_sq for o in live]
            torch._foreach_lerp_(averages, grads, 1 - beta1)
            torch._foreach_mul_(squares, beta2)
            torch._foreach_addcmul_(squares, grads, grads, value=1 - beta2)
            denominators = torch._foreach_sqrt(squares)
            torch._foreach_div_(denominators, [(1 - beta2**o.steps) ** 0.5 for o in live])
            torch._foreach_add_(denominators, eps)
            steps = [-lr / (1 - beta1**o.steps) for o in live]
            torch._foreach_addcdiv_([o.variable for o in live], averages, denominators, steps)
