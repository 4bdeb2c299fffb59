"""Small node types for the engine's tests: numbers, a counter of computations, slow and failing nodes.

CALLS counts compute calls per node id, so tests can assert what ran."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

from nodegraph import ANY, Input, Node, Output, Param, file_key

CALLS: Counter[str] = Counter()


class Const(Node):
    type_name = "TConst"
    category = "test"
    outputs = [Output("out", "NUMBER")]
    params = [
        Param("value", float, 0.0, min=-100, max=100, doc="the number"),
        Param("count", int, 1, min=0, max=10),
        Param("mode", str, "plain", choices=("plain", "fancy")),
        Param("flag", bool, False),
        Param("items", list, []),
    ]

    def compute(self, ctx, **inputs):
        CALLS[ctx.node_id] += 1
        return {"out": ctx.params["value"]}


class Add(Node):
    type_name = "TAdd"
    category = "test"
    inputs = [Input("a", "NUMBER"), Input("b", "NUMBER", optional=True)]
    outputs = [Output("out", "NUMBER")]
    params = [Param("offset", float, 0.0)]

    def compute(self, ctx, a, b):
        CALLS[ctx.node_id] += 1
        return {"out": a + (b or 0.0) + ctx.params["offset"]}


class Sink(Node):
    type_name = "TSink"
    category = "test"
    is_output = True
    inputs = [Input("x", "NUMBER")]
    outputs = [Output("out", "NUMBER")]

    def compute(self, ctx, x):
        CALLS[ctx.node_id] += 1
        return {"out": x}


class Text(Node):
    type_name = "TText"
    category = "test"
    outputs = [Output("text", "TEXT")]
    params = [Param("text", str, "hello")]

    def compute(self, ctx):
        CALLS[ctx.node_id] += 1
        return {"text": ctx.params["text"]}


class Warn(Node):
    """Succeeds with a warning about its result (as a drag that ends short of its targets)."""

    type_name = "TWarn"
    category = "test"
    outputs = [Output("text", "TEXT")]
    params = [Param("warning", str, "only half done")]

    def compute(self, ctx):
        ctx.warn(ctx.params["warning"])
        return {"text": "half"}


class Anything(Node):
    type_name = "TAny"
    category = "test"
    inputs = [Input("x", ANY)]
    outputs = [Output("out", ANY)]

    def compute(self, ctx, x):
        CALLS[ctx.node_id] += 1
        return {"out": x}


class Slow(Node):
    """Loops `steps` times, reporting progress; honours cancel through ctx.progress."""

    type_name = "TSlow"
    category = "test"
    inputs = [Input("x", "NUMBER", optional=True)]
    outputs = [Output("out", "NUMBER")]
    params = [Param("steps", int, 10, min=1)]

    def compute(self, ctx, x):
        CALLS[ctx.node_id] += 1
        for step in range(ctx.params["steps"]):
            ctx.progress(step + 1, ctx.params["steps"], message=f"step {step + 1}")
        ctx.log("done looping")
        return {"out": float(ctx.params["steps"])}


class Fail(Node):
    type_name = "TFail"
    category = "test"
    inputs = [Input("x", "NUMBER", optional=True)]
    outputs = [Output("out", "NUMBER")]
    params = [Param("fail", bool, True)]

    def compute(self, ctx, x):
        CALLS[ctx.node_id] += 1
        if ctx.params["fail"]:
            raise ValueError("boom")
        return {"out": 1.0}


class Range(Node):
    """A node whose validate hook checks two params together."""

    type_name = "TRange"
    category = "test"
    outputs = [Output("out", "NUMBER")]
    params = [Param("low", int, 0), Param("high", int, 1)]

    @classmethod
    def validate(cls, params):
        if params["low"] > params["high"]:
            raise ValueError("low must not exceed high; lower low or raise high")

    def compute(self, ctx):
        return {"out": float(ctx.params["high"] - ctx.params["low"])}


class TensorSum(Node):
    type_name = "TTensorSum"
    category = "test"
    outputs = [Output("out", "NUMBER")]
    params = [Param("mask", "tensor", None)]

    def compute(self, ctx):
        CALLS[ctx.node_id] += 1
        mask = ctx.params["mask"]
        return {"out": 0.0 if mask is None else float(mask.float().sum())}


class ReadFile(Node):
    """Not pure: re-runs when the file's size or mtime changes."""

    type_name = "TReadFile"
    category = "test"
    pure = False
    outputs = [Output("text", "TEXT")]
    params = [Param("path", "path", "input.txt")]

    def impure_key(self, params):
        return file_key(self.ctx.resolve_path(params["path"]))

    def compute(self, ctx):
        CALLS[ctx.node_id] += 1
        return {"text": Path(ctx.resolve_path(ctx.params["path"])).read_text()}


class WriteText(Node):
    type_name = "TWrite"
    category = "test"
    is_output = True
    inputs = [Input("text", "TEXT")]
    outputs = [Output("path", "PATH")]
    params = [Param("path", "path", "out/result.txt")]

    def compute(self, ctx, text):
        CALLS[ctx.node_id] += 1
        path = ctx.output_path(ctx.params["path"])
        path.write_text(text)
        ctx.wrote(path)
        return {"path": str(path)}


class BadOutputs(Node):
    type_name = "TBadOutputs"
    category = "test"
    outputs = [Output("out", "NUMBER")]

    def compute(self, ctx):
        return {"oops": 1.0}


class Interrupt(Node):
    """Sends itself Ctrl+C (SIGINT) once, then loops like a long node until cancelled."""

    type_name = "TInterrupt"
    category = "test"
    is_output = True
    outputs = [Output("out", "NUMBER")]

    def compute(self, ctx):
        os.kill(os.getpid(), signal.SIGINT)
        for step in range(10**6):
            time.sleep(0.001)
            ctx.progress(step, 10**6)
        return {"out": 0.0}


ALL = [
    Interrupt,
    Const,
    Add,
    Sink,
    Text,
    Warn,
    Anything,
    Slow,
    Fail,
    Range,
    TensorSum,
    ReadFile,
    WriteText,
    BadOutputs,
]
