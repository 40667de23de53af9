"""_pin_fp32_layers with a stand-in for the tensorrt module: which layers stay FP32."""

from __future__ import annotations

from types import SimpleNamespace

from wds_edge.runtime.tensorrt.build import _pin_fp32_layers


class _Tensor:
    def __init__(self, is_output: bool) -> None:
        self.is_network_output = is_output


class _Layer:
    def __init__(self, name: str, kind: str, is_output: bool = False) -> None:
        self.name, self.type = name, kind
        self._out = [_Tensor(is_output)]
        self.num_outputs = 1
        self.precision = None
        self.output_types: dict[int, object] = {}

    def get_output(self, j: int) -> _Tensor:
        return self._out[j]

    def set_output_type(self, j: int, t: object) -> None:
        self.output_types[j] = t


class _Network:
    def __init__(self, layers: list[_Layer]) -> None:
        self.layers = layers
        self.num_layers = len(layers)

    def get_layer(self, i: int) -> _Layer:
        return self.layers[i]


TRT = SimpleNamespace(
    float32="fp32",
    LayerType=SimpleNamespace(
        ACTIVATION="act", SOFTMAX="softmax", SLICE="slice", CONVOLUTION="conv"
    ),
    BuilderFlag=SimpleNamespace(PREFER_PRECISION_CONSTRAINTS="prefer"),
)


class _Config:
    def __init__(self) -> None:
        self.flags: list[object] = []

    def set_flag(self, flag: object) -> None:
        self.flags.append(flag)


def _pinned(layers: list[_Layer]) -> set[str]:
    config = _Config()
    n = _pin_fp32_layers(TRT, _Network(layers), config)
    names = {la.name for la in layers if la.precision == "fp32"}
    assert n == len(names) and (config.flags == ["prefer"]) == bool(names)
    return names


def test_binary_head_pins_texture_and_output_sigmoid() -> None:
    layers = [_Layer("/preprocess/Div", "act"), _Layer("/up4/LeakyRelu", "act"),
              _Layer("/head1/Conv", "conv"), _Layer("/Sigmoid", "act", is_output=True)]  # fmt: skip
    assert _pinned(layers) == {"/preprocess/Div", "/Sigmoid"}


def test_two_class_head_pins_softmax_and_output_slice() -> None:
    layers = [_Layer("/preprocess/Div", "act"), _Layer("/up4/LeakyRelu", "act"),
              _Layer("/head1/Conv", "conv"), _Layer("/Softmax", "softmax"),
              _Layer("/Slice", "slice", is_output=True)]  # fmt: skip
    assert _pinned(layers) == {"/preprocess/Div", "/Softmax", "/Slice"}
    assert layers[3].output_types == {0: "fp32"}
