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
