"""Kaiser-windowed low-pass filters of StyleGAN3's layers (SPEC §3b), designed without scipy.

Only a freshly built generator needs them: a loaded one takes its filters from the checkpoint.
The numbers follow scipy.signal.firwin (separable filters) and NVIDIA's jinc-based radial
filter for the R config; the StyleGAN3 check against NVIDIA compares both.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def kaiser_attenuation(numtaps: int, width: float) -> float:
    """Stopband attenuation (dB) of a Kaiser FIR of numtaps taps and transition width (in units of
    the Nyquist frequency): Kaiser's empirical formula, as scipy.signal.kaiser_atten."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def kaiser_beta(attenuation: float) -> float:
    """The Kaiser window's beta for a stopband attenuation in dB (as scipy.signal.kaiser_beta)."""
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        return 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21)
    return 0.0


def lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> torch.Tensor | None:
    """A low-pass FIR normalised to unit DC gain: 1-D (applied separably) or, with `radial`, a
    2-D radially symmetric jinc filter; None for a single tap (the identity)."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    beta = kaiser_beta(kaiser_attenuation(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    if not radial:
        # Windowed sinc with the cutoff as a fraction of Nyquist (scipy's firwin, pass_zero).
        taps = np.arange(numtaps) - (numtaps - 1) / 2
        relative_cutoff = cutoff / (fs / 2)
        f = relative_cutoff * np.sinc(relative_cutoff * taps) * window
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    # On the CPU even under a torch.device("meta") context (checkpoint checks build on meta).
    j1 = torch.special.bessel_j1(
        torch.as_tensor(2 * cutoff * np.pi * r, dtype=torch.float64, device="cpu")
    ).numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(r > 0, j1 / (np.pi * r), cutoff)  # the jinc's limit at r = 0
    f = f * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)
