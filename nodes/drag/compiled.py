"""F through torch.compile: a drag's feature synthesis as compiled graphs instead of one kernel
launch per op, for a GPU (issue 30).

A drag step on a GPU is launch-bound: the synthesis up to the feature block and its backward are
some 800 small ops, each a kernel launch of a few microseconds, while the multiply-adds they
carry take less. Compiled, the synthesis runs whole-map (its shapes never change, so it compiles
once per generator, feature block and number of optimised rows), its element-wise ops fused, and on
CUDA captured as CUDA graphs (torch.compile's 'reduce-overhead' mode): a step replays a graph
forward and one backward. Tracking, the loss and Adam stay eager (a few hundred small ops).

The values are those of `synthesize_features` on the whole map (tests/drag/test_compiled.py: the
same drag, step for step; a batch of drags, `drag_many`, goes through it too). The first step compiles: tens of seconds, which a long run or a batch
repays and an interactive drag of a few steps does not, so it is off by default (the Generator
node's `compile`, `bench drag --compile`). Cropped synthesis is not used while it is on: a crop's
windows move with the handles, and each new layout would compile again.
"""

from __future__ import annotations

import weakref

import torch

from nodes.gan.model import ModulationMemo

from .features import synthesize_features

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # G -> {key: compiled function}


def compile_features(G, on: bool = True):
    """Have drags on G synthesise F through torch.compile (see the module's docstring); G back."""
    G.compiled_features = bool(on)
    if not on:
        _COMPILED.pop(G, None)
    return G


def uses_compiled_features(G) -> bool:
    """Whether drags on G take F from compiled_synthesis (compile_features(G) was called)."""
    return bool(getattr(G, "compiled_features", False))


def drag_features(G, ws: torch.Tensor, cfg, memo, lower: dict | None, plan=None) -> torch.Tensor:
    """F for a drag step at ws with the drag's resolved settings `cfg`: synthesize_features (with
    the crop `plan`, the `memo`), or the compiled function when G's drags are compiled (the whole
    map: the caller plans no crop then). `lower` as synthesize_features'."""
    if uses_compiled_features(G):
        return compiled_synthesis(G, ws, cfg.feature_block, cfg.noise_mode, cfg.layers, lower)
    return synthesize_features(
        G, ws, cfg.feature_block, cfg.noise_mode, trainable_rows=cfg.layers, plan=plan, memo=memo, lower=lower
    )


def compiled_synthesis(
    G, ws: torch.Tensor, block: int, noise_mode: str, trainable_rows: int, lower: dict | None
) -> torch.Tensor:
    """synthesize_features(G, ws, block, noise_mode, trainable_rows, lower=lower) on the whole
    map, through G's compiled function for these settings (compiled at its first call)."""
    key = (block, noise_mode, trainable_rows, lower is not None, ws.device.type)
    functions = _COMPILED.setdefault(G, {})
    if key not in functions:
        functions[key] = _compile(
            G, block, noise_mode, trainable_rows, lower is not None, ws.device
        )
    on_cuda = ws.device.type == "cuda"
    if on_cuda and torch.is_grad_enabled():
        # A step's synthesis (the only call with gradients): the last step's backward has run, so
        # the CUDA graphs may reuse its outputs' memory. Not at the no-grad calls: the arrival
        # check's comes between a step's forward and its backward. What the drag keeps of the
        # outputs it keeps as copies (below).
        torch.compiler.cudagraph_mark_step_begin()
    maps = functions[key](ws[:, :trainable_rows], ws[:, trainable_rows:].detach())
    if lower is not None:
        lower.update(
            {b: m.clone() if on_cuda else m for b, m in enumerate(maps[:-1])}
        )
    return maps[-1]


def _compile(
    G, block: int, noise_mode: str, trainable_rows: int, keep_lower: bool, device: torch.device
):
    def synthesize(trainable: torch.Tensor, fixed: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ws = torch.cat([trainable, fixed], dim=1)
        maps: dict = {} if keep_lower else None
        # A memo made inside: the convs modulate their input, so the backward makes no weight
        # gradient (the plain path's did: 1.6x the eager whole-map step on a CPU); its kept
        # modulations live within one call, the graph computes them anew each step.
        memo = ModulationMemo()
        feat = synthesize_features(
            G, ws, block, noise_mode, trainable_rows=trainable_rows, memo=memo, lower=maps
        )
        return (*(maps[b] for b in range(block)), feat) if keep_lower else (feat,)

    mode = "reduce-overhead" if device.type == "cuda" else "default"
    # A drag's shapes never change; a batch of drags (nodes.drag.many) shrinks as its drags end,
    # and torch.compile then compiles once more with the batch size as a symbol (not once a size).
    return torch.compile(synthesize, mode=mode)
