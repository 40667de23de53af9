"""ModelMetadata: malformed values are refused as ModelError, never as a raw IndexError."""

from __future__ import annotations

import pytest

from wds_edge.errors import ModelError
from wds_edge.model.metadata import ModelMetadata


def _props(**changes: str) -> dict[str, str]:
    props = ModelMetadata(input_shape=[1, 3, 64, 64]).to_props()
    props.update(changes)
    return props


def test_the_default_contract_round_trips() -> None:
    meta = ModelMetadata.from_props(_props())
    meta.check_supported()
    assert meta.input_size_hw == (64, 64) and meta.input_channels == 3 and not meta.dynamic_batch


@pytest.mark.parametrize(
    ("field", "raw", "says"),
    [
        ("format_version", "-5", "format_version = -5"),  # was accepted
        ("format_version", "0", "format_version = 0"),
        ("texture_sigma", "NaN", "texture_sigma = nan"),  # was accepted (in-graph models)
        ("texture_sigma", "0", "texture_sigma = 0"),
        ("texture_ksize", "0", "texture_ksize = 0"),
    ],
)
def test_impossible_values_are_malformed_metadata(field: str, raw: str, says: str) -> None:
    with pytest.raises(ModelError, match="malformed wds-edge metadata") as info:
        ModelMetadata.from_props(_props(**{field: raw}), source="m.onnx")
    assert says in str(info.value) and str(info.value).startswith("m.onnx: ")


def test_a_shape_that_is_not_nchw_is_a_model_error_everywhere() -> None:
    meta = ModelMetadata.from_props(_props(input_shape="[1, 3, 640]"))
    # input_size_hw used to raise IndexError before anyone called check_supported().
    for read in (lambda: meta.input_size_hw, lambda: meta.input_channels,
                 lambda: meta.dynamic_batch):  # fmt: skip
        with pytest.raises(ModelError, match=r"\[1, 3, 640\] is not \[N, C, H, W\]"):
            read()
    with pytest.raises(ModelError, match=r"is not \[N, C, H, W\]"):
        meta.check_supported()


def test_an_even_texture_kernel_is_refused_naming_the_field() -> None:
    """The Eq. 1 Gaussian kernel needs an odd size; an even one loaded and then failed in the
    host texture with "ksize must be a positive odd number", a parameter nobody passed."""
    meta = ModelMetadata.from_props(_props(texture_ksize="20"))
    with pytest.raises(ModelError, match="texture_ksize 20 is not an odd number") as info:
        meta.check_supported("m.onnx")
    assert str(info.value).startswith("m.onnx: cannot run this model")
