"""Python values as a tensor on a device, copied without waiting for the device.

`torch.tensor(values, device="cuda")` copies from pageable host memory and then waits for the
stream: a device sync, which in a drag step's hot path costs as much as many launches. Made on
the CPU and copied with non_blocking=True, the copy is queued behind the work already launched
(CUDA stages pageable memory before it returns), so the host goes on launching.
"""

from __future__ import annotations

import torch


def tensor_on(device: torch.device | str, values, dtype: torch.dtype | None = None) -> torch.Tensor:
    """torch.tensor(values, dtype) on `device`, without a device sync on a GPU."""
    host = torch.tensor(values, dtype=dtype)
    return host if host.device == torch.device(device) else host.to(device, non_blocking=True)
