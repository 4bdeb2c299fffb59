"""The bundled generator's z and the renderer's parameters: how one stands for the other.

StyleGAN's mapping normalises z to the sphere of radius sqrt(z_dim) before anything else
(SPEC §3), so the generator cannot see |z|. The parameters are therefore read from the
*normalised* z, and z has one spare dimension (Z_DIM = NUM_PARAMS + 1) so that any parameter
vector has a z on that sphere: z = [Phi^-1(u), s] with s chosen to make |z|^2 = Z_DIM.
"""

from __future__ import annotations

import numpy as np
import torch

from .params import (
    FINE_INDICES,
    GEOMETRY_INDICES,
    LANDMARK_BLIND,
    NUM_PARAMS,
    PARAM_INDEX,
    params_from_z,
    z_for_params,
)

Z_DIM = NUM_PARAMS + 1


def normalize_z(z: torch.Tensor) -> torch.Tensor:
    """What the mapping network does first: z * rsqrt(mean(z^2) + 1e-8) over the last dim."""
    z = torch.as_tensor(z, dtype=torch.float64)
    return z * (z.square().mean(dim=-1, keepdim=True) + 1e-8).rsqrt()


def face_params(z) -> torch.Tensor:
    """Renderer parameters [N, NUM_PARAMS] that the generator's z [N, Z_DIM] stands for."""
    return params_from_z(normalize_z(z)[..., :NUM_PARAMS])


def mixed_face_params(z_coarse, z_fine) -> torch.Tensor:
    """What a style-mixed code stands for: W+ rows below the crossover from z_coarse, the rest
    from z_fine (see `mix_ws`) draw z_coarse's geometry and hair shape (params.COARSE_INDICES)
    with z_fine's colours (params.FINE_INDICES). [N, NUM_PARAMS]."""
    params = face_params(z_coarse).clone()
    fine = face_params(z_fine)
    params[..., list(FINE_INDICES)] = fine[..., list(FINE_INDICES)]
    return params


def mix_ws(ws_coarse: torch.Tensor, ws_fine: torch.Tensor, crossover: int) -> torch.Tensor:
    """Style mixing: rows [0, crossover) of ws_coarse, rows [crossover, num_ws) of ws_fine."""
    return torch.cat([ws_coarse[:, :crossover], ws_fine[:, crossover:]], dim=1)


def z_for_face_params(params) -> torch.Tensor | None:
    """A z [N, Z_DIM] with face_params(z) == params, or None where none exists
    (when |Phi^-1(u)|^2 > Z_DIM: extreme parameter vectors, rare under sampling)."""
    t = torch.as_tensor(z_for_params(torch.as_tensor(params, dtype=torch.float64)))
    t = t.reshape(-1, NUM_PARAMS)
    spare2 = Z_DIM - t.square().sum(dim=-1, keepdim=True)
    if bool((spare2 < 0).any()):
        return None
    return torch.cat([t, spare2.sqrt()], dim=-1)


def z_for_seeds(seeds) -> torch.Tensor:
    """z of each seed drawn as Generator.random_ws draws it (numpy RandomState(seed).randn)."""
    return torch.from_numpy(np.stack([np.random.RandomState(int(s)).randn(Z_DIM) for s in seeds])).float()


def geometry_pair(seed: int, max_tries: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """(z1, z2), each [1, Z_DIM], whose faces share every appearance parameter and differ in
    geometry: the pairs of the landmark benchmark (SPEC §5)."""
    rng = np.random.RandomState(seed)
    for _ in range(max_tries):
        z1 = torch.from_numpy(rng.randn(1, Z_DIM))
        p1 = face_params(z1)
        n2 = normalize_z(z1)[..., :NUM_PARAMS].clone()
        n2[..., list(GEOMETRY_INDICES)] = torch.from_numpy(rng.randn(1, len(GEOMETRY_INDICES)))
        p2 = params_from_z(n2)
        z1 = z_for_face_params(p1)
        z2 = z_for_face_params(p2)
        if z1 is not None and z2 is not None:
            return z1.float(), z2.float()
    raise RuntimeError(f"no geometry pair found for seed {seed} in {max_tries} tries")


def landmark_equivalent(z_start, z_target) -> torch.Tensor:
    """Renderer parameters [N, NUM_PARAMS] of the face a drag pulled only by the landmarks aims
    at: z_target's face with the parameters no landmark moves (params.LANDMARK_BLIND) kept from
    z_start. Its landmarks are z_target's exactly; what it differs from z_target by, no handle
    says (`nodegraph bench landmarks-oracle`)."""
    params = face_params(z_target).clone()
    blind = [PARAM_INDEX[name] for name in LANDMARK_BLIND]
    params[..., blind] = face_params(z_start)[..., blind]
    return params

