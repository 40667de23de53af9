"""OpenVINO's compiled-model cache must not hand one precision's network to another.

OpenVINO's cache key does not separate ``INFERENCE_PRECISION_HINT`` on every CPU: with one
``CACHE_DIR``, compiling FP16 and then FP32 ran the FP16 kernels under an "FP32" label (and
the other way round). Each precision hint gets a cache folder of its own; these tests load
the real model with the cache on, in both orders, and read the precision the executed
convolutions run in back from OpenVINO's runtime model.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("openvino", reason="the OpenVINO backend needs openvino")

from wds_edge.runtime.openvino import OpenVinoBackend, native_precisions  # noqa: E402

#: runtimePrecision OpenVINO reports for a convolution run in each precision.
_RUNTIME = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}


def _conv_precisions(backend: OpenVinoBackend) -> Counter[str]:
    """runtimePrecision of the executed convolutions of the network part (the last one)."""
    runtime = backend._compiled[-1].get_runtime_model()
    return Counter(
        str(op.get_rt_info()["runtimePrecision"].astype(str))
        for op in runtime.get_ordered_ops()
        if str(op.get_rt_info()["layerType"].astype(str)) == "Convolution"
    )


@pytest.mark.parametrize(
    "order",
    [("fp16", "fp32"), ("fp32", "fp16"), ("bf16", "fp32"), ("fp32", "bf16"), ("fp16", "bf16")],
    ids="-then-".join,
)
def test_each_precision_runs_its_own_kernels_with_the_cache_on(
    small_onnx: Path, tmp_path: Path, order: tuple[str, str]
) -> None:
    native = native_precisions("CPU")
    missing = [p for p in order if p not in native]
    if missing:
        pytest.skip(f"this CPU does not run {', '.join(missing)} natively")
    cache = tmp_path / "ov"
    for precision in order:
        with OpenVinoBackend(small_onnx, precision=precision, cache_dir=cache) as backend:
            kernels = _conv_precisions(backend)
        assert kernels, "no convolution in the runtime model"
        assert set(kernels) == {_RUNTIME[precision]}, (precision, kernels)
    # the cache is on: each precision hint compiled into a folder of its own
    for precision in order:
        assert any((cache / _RUNTIME[precision]).glob("*.blob")), precision


def test_the_shared_layouts_blobs_are_removed_from_the_default_cache(
    small_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect: the compiled models of the shared cache layout (before the per-precision
    folders), <cache>/openvino/<version>/*.blob, were never read again nor removed (23 MB
    on a dev machine). The first load with the default cache removes them; anything else
    there, and the per-precision folders' blobs, stay. An explicit cache_dir is the
    caller's folder: left as it is."""
    from wds_edge.runtime.openvino import openvino_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = openvino_cache_dir()
    assert root.is_relative_to(tmp_path)
    root.mkdir(parents=True)
    (root / "1234567890.blob").write_bytes(b"old shared layout")
    (root / "notes.txt").write_text("not a blob")
    (root / "odd.blob").mkdir()  # not a file: left
    with OpenVinoBackend(small_onnx, precision="fp32", cache_dir=None):
        pass
    assert not (root / "1234567890.blob").exists()
    assert (root / "notes.txt").is_file() and (root / "odd.blob").is_dir()
    assert any((root / "f32").glob("*.blob"))
    with OpenVinoBackend(small_onnx, precision="fp32", cache_dir=None):  # from the cache
        pass
    assert any((root / "f32").glob("*.blob"))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.blob").write_bytes(b"the caller's")
    with OpenVinoBackend(small_onnx, precision="fp32", cache_dir=mine):
        pass
    assert (mine / "keep.blob").is_file()
