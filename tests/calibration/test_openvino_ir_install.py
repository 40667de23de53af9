"""The OpenVINO IR pair (.xml + .bin) is replaced so that it is never mixed: OpenVINO finds
an .xml's weights by name alone, and an old .xml beside a new .bin loads silently and
computes the new weights under the old description. Real models, real NNCF; only the
interruption itself is simulated (os.replace raising on the .xml's rename)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nncf", reason="OpenVINO INT8 needs nncf")

from wds_edge.runtime.openvino import OpenVinoBackend  # noqa: E402
from wds_edge.runtime.probe_inputs import synthetic_skin_crops  # noqa: E402
from wds_edge_calibration.dataset import write_calibration_set  # noqa: E402
from wds_edge_calibration.openvino_int8 import quantize_openvino_int8  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wds_b4_128_dyn.onnx"


def _output(xml: Path, crop: np.ndarray) -> np.ndarray:
    with OpenVinoBackend(xml, precision="int8", cache_dir=False) as backend:
        return backend.infer(crop)


def test_an_interrupted_replacement_leaves_no_model_rather_than_a_mixed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect: the .bin was replaced, then the .xml: interrupted between the two, model A's
    .xml stood beside model B's .bin (loaded without complaint, computed B), and a stray
    ``q.xml.tmp`` (not a wds-edge temporary name: never cleaned) stayed."""
    crops = synthetic_skin_crops(128, 6, seed=4)
    calib, held = (
        write_calibration_set(part, tmp_path / name, source="synthetic", size_px=128,
                              preprocessing_path="synthetic")
        for name, part in (("calib", crops[:3]), ("held", crops[3:]))
    )  # fmt: skip
    folder = tmp_path / "ir"
    folder.mkdir()
    target = folder / "q.xml"
    probe = np.ascontiguousarray(crops[0].transpose(2, 0, 1)[None], dtype=np.float32)
    quantize_openvino_int8(FIXTURE, calib, held, target, allow_accuracy_loss=True)  # model A
    a_xml, a_bin = target.read_bytes(), target.with_suffix(".bin").read_bytes()
    a_out = _output(target, probe)
    real_replace = os.replace

    def interrupted(src: object, dst: object) -> None:
        if Path(os.fspath(dst)) == target:  # the .xml's rename: the process dies here
            raise KeyboardInterrupt
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):  # model B: every layer quantized, other weights
        quantize_openvino_int8(
            FIXTURE, calib, held, target, allow_accuracy_loss=True,
            keep_first_conv=False, keep_head=False, keep_last_block=False,
        )  # fmt: skip
    monkeypatch.setattr(os, "replace", real_replace)
    b_bin = target.with_suffix(".bin").read_bytes()
    assert b_bin != a_bin  # B's weights are in place: A's .xml must not describe them
    if target.exists():  # never A's .xml with B's weights
        assert target.read_bytes() != a_xml
        assert not np.allclose(_output(target, probe), a_out)
    assert sorted(p.name for p in folder.iterdir()) == ["q.bin"]  # no temporaries left
    # the next run installs a whole model again
    quantize_openvino_int8(FIXTURE, calib, held, target, allow_accuracy_loss=True)
    assert target.with_suffix(".bin").read_bytes() == a_bin  # (the .xml's gate record differs)
    assert np.allclose(_output(target, probe), a_out)
    assert sorted(p.name for p in folder.iterdir()) == ["q.bin", "q.xml"]
