"""A stand-in for the Kokoro-82M ONNX model, with the real model's inputs and outputs, for kokoro-onnx to run.

The real weights (about 300 MB) cannot be fetched where the tests run. This graph takes what the
real export takes (`input_ids` int64 [1, n], `style` float32 [1, 256], `speed` float32 [1]) and
answers a `waveform`: a quiet 220 Hz tone of 0.08 s per token divided by the speed, so the length of
what it "says" follows the text and the speed as the real model's does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLES_PER_TOKEN = 1920  # 0.08 s at 24 kHz


def write_model(path: Path) -> Path:
    """The stand-in graph as an .onnx file."""
    import onnx
    from onnx import TensorProto, helper

    def constant(name: str, value: np.ndarray) -> onnx.NodeProto:
        return helper.make_node("Constant", [], [name], value=onnx.numpy_helper.from_array(value, name))

    nodes = [
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        constant("one", np.array([1], np.int64)),
        helper.make_node("Gather", ["shape", "one"], ["tokens"], axis=0),
        helper.make_node("Cast", ["tokens"], ["tokens_f"], to=TensorProto.FLOAT),
        constant("per_token", np.array([SAMPLES_PER_TOKEN], np.float32)),
        helper.make_node("Mul", ["tokens_f", "per_token"], ["samples_raw"]),
        helper.make_node("Div", ["samples_raw", "speed"], ["samples_f"]),
        helper.make_node("Floor", ["samples_f"], ["samples_floor"]),
        constant("zero_f", np.array(0, np.float32)),
        constant("step_f", np.array(1, np.float32)),
        helper.make_node("Squeeze", ["samples_floor"], ["limit"]),
        helper.make_node("Range", ["zero_f", "limit", "step_f"], ["t"]),
        constant("omega", np.array(2 * np.pi * 220 / 24000, np.float32)),
        helper.make_node("Mul", ["t", "omega"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["tone"]),
        constant("gain", np.array(0.2, np.float32)),
        helper.make_node("Mul", ["tone", "gain"], ["waveform"]),
    ]
    graph = helper.make_graph(
        nodes, "kokoro-stand-in",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "n"]),
         helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
         helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, ["samples"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def write_voice(path: Path) -> Path:
    """A voice as the hub's per-voice .bin: float32 style vectors, 510 rows of [1, 256]."""
    np.random.default_rng(1).standard_normal((510, 1, 256)).astype(np.float32).tofile(path)
    return path
