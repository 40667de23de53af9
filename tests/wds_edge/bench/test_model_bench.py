"""`bench model` on real ONNX Runtime, FLOP counting, and the bench CLI in --quick mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wds_edge.bench.model_bench import bench_backend, count_onnx_gflops

REPO = Path(__file__).resolve().parents[3]


def _cli(*args: str, timeout: float = 180.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wds_edge.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_count_gflops_of_a_hand_built_conv(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])],
        [w],
    )
    path = tmp_path / "conv.onnx"
    onnx.save(helper.make_model(graph), str(path))
    # 8 x 16 x 16 outputs, each 3 x 3 x 3 multiply-adds; 2 FLOPs per multiply-add
    assert count_onnx_gflops(path) == pytest.approx(2 * 8 * 16 * 16 * 27 / 1e9)
    assert count_onnx_gflops(tmp_path / "missing.onnx") is None


def test_gflops_are_per_image_whatever_the_fixed_batch():
    """Defect: conv_macs multiplied the whole output shape, batch included, so a model
    exported with --batch 3 recorded 3x its per-image GFLOPs (architecture.gflops, whose
    definition says per image) and `bench model` reported 3x its GFLOP/s."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from wds_edge.bench.model_bench import conv_macs

    def conv(batch: int | str) -> object:
        # 2 -> 4 channels, 3x3, stride 2, no padding, on 9 x 9: 4 x 4 x 4 outputs per image
        w = numpy_helper.from_array(np.zeros((4, 2, 3, 3), np.float32), "w")
        node = helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2])
        return helper.make_model(helper.make_graph(
            [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 2, 9, 9])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w],
        ))  # fmt: skip

    # per image: (4 x 4 x 4) outputs x (2 x 3 x 3) multiply-adds each = 64 x 18 = 1152
    for batch in (1, 3, "n"):
        assert conv_macs(conv(batch)) == 1152, batch


def test_bench_backend_on_onnxruntime(onnx_model_fixed_batch):
    from wds_edge.runtime import load_backend

    with load_backend(onnx_model_fixed_batch, "onnxruntime") as be:
        res = bench_backend(be, model_label=str(onnx_model_fixed_batch), warmup=1, runs=4)
        with pytest.raises(Exception, match="fixed batch"):
            bench_backend(be, model_label="m", batch=2, runs=1)
    assert res.latency.count == 4 and res.latency.min_ms > 0
    assert res.throughput_img_s == pytest.approx(1000.0 / res.latency.mean_ms)
    assert res.gflops_per_image and res.achieved_gflop_s == pytest.approx(
        res.gflops_per_image * res.throughput_img_s
    )
    assert res.row()["size_px"] == 256


def test_cli_bench_model_quick(tmp_path, onnx_model_fixed_batch):
    out = tmp_path / "m.json"
    proc = _cli(
        "bench",
        "model",
        "--model",
        str(onnx_model_fixed_batch),
        "--backend",
        "onnxruntime",
        "--quick",
        "--json-out",
        str(out),
        "--csv-out",
        str(tmp_path / "m.csv"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "p50_ms" in proc.stdout and onnx_model_fixed_batch.name in proc.stdout
    report = json.loads(out.read_text())
    assert report["result"]["runs"] == 5 and report["environment"]["cpu"]["model"]
    assert report["load_average"]["after"] is not None and "load average" in proc.stdout


def test_cli_bench_pipeline_quick(tmp_path, video_path, landmarker_path, onnx_model_fixed_batch):
    out = tmp_path / "p.json"
    proc = _cli(
        "bench",
        "pipeline",
        "--source",
        str(video_path),
        "--model",
        str(onnx_model_fixed_batch),
        "--landmarker",
        str(landmarker_path),
        "--backend",
        "onnxruntime",
        "--quick",
        "--json-out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "end_to_end" in proc.stdout and "landmarks" in proc.stdout
    assert "two-stage p50" in proc.stdout and "face FPS" in proc.stdout
    report = json.loads(out.read_text())
    res = report["result"]
    assert res["frames"] == 20 and res["status_counts"] == {"ok": 20}
    serial, two_stage = res["modes"]
    assert (serial["mode"], two_stage["mode"]) == ("serial", "two-stage")
    for mode in (serial, two_stage):  # every face frame segmented, in both modes
        assert mode["frames"] == mode["segmented_frames"] == mode["face_frames"] == 20
        assert mode["identical_to_first"] == 20 and mode["errors"] == 0
        stages = mode["stages_ms"]
        assert {"landmarks", "crop_preprocess", "inference", "postprocess", "overlay"} <= set(
            stages
        )
        # end to end covers the stages inside it
        assert stages["end_to_end"]["p50_ms"] >= stages["inference"]["p50_ms"]
    assert set(two_stage["waits_ms"]) >= {"locate_blocked", "segment_idle"}
    # the machine it ran on and how busy it was, beside the figures
    assert report["environment"]["cpu"]["model"] and "flags" in report["environment"]["cpu"]
    assert {"before", "after", "usable_cores", "busy"} <= set(report["load_average"])
    assert "load average" in proc.stdout


def test_cli_bench_compare_quick(tmp_path, video_path, landmarker_path):
    pytest.importorskip("torch", reason="the compare widths are exported from torch")
    proc = _cli(
        "bench",
        "compare",
        "--quick",
        "--source",
        str(video_path),
        "--landmarker",
        str(landmarker_path),
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pytorch-eager" in proc.stdout and "x eager" in proc.stdout  # the 80-column table
    assert "speedup_e2e" in (tmp_path / "compare.csv").read_text().splitlines()[0]
    rows = json.loads((tmp_path / "compare.json").read_text())["rows"]
    assert [r["backend"] for r in rows] == ["onnxruntime", "pytorch-eager"]
    assert rows[1]["speedup_model"] == 1.0  # the baseline
    assert rows[0]["speedup_model"] == pytest.approx(
        rows[1]["model_ms"]["p50_ms"] / rows[0]["model_ms"]["p50_ms"], rel=0.02
    )
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "compare.csv").read_text().startswith("config,")
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["environment"]["cpu"]["model"] and report["load_average"]["after"] is not None


def test_benchmark_model_times_onnxruntime_without_spin_waiting(
    onnx_model_fixed_batch, monkeypatch
):
    """Issue 25 item 5: every timed ONNX Runtime session runs with allow_spinning = 0."""
    from wds_edge.bench.model_bench import benchmark_model
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

    made = []
    real_init = OnnxRuntimeBackend.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        options = self._session.get_session_options()  # what ONNX Runtime was really given
        made.append(options.get_session_config_entry("session.intra_op.allow_spinning"))

    monkeypatch.setattr(OnnxRuntimeBackend, "__init__", init)
    result = benchmark_model(onnx_model_fixed_batch, backend="onnxruntime", warmup=0, runs=1)
    assert result.backend == "onnxruntime" and made == ["0"]


def test_bench_compare_times_every_cpu_backend_with_zero_warmup(
    onnx_model_path, video_path, landmarker_path
):
    """--backends onnxruntime,openvino: one row each (OpenVINO was dropped after ONNX
    Runtime), labelled with what each ran; --warmup 0 is allowed by the CLI and must not end
    in 'cannot summarize zero latency samples'."""
    pytest.importorskip("openvino")
    from wds_edge.bench.compare import bench_compare

    result = bench_compare(
        video_path, models=[onnx_model_path], widths=(), backends=("onnxruntime", "openvino"),
        size_px=256, landmarker_path=landmarker_path, max_frames=2, runs=1, warmup=0,
        e2e=True, torch_baseline=False, num_threads=1,
    )  # fmt: skip
    assert [(r.backend, r.precision) for r in result.rows] == [
        ("onnxruntime", "fp32"),
        ("openvino", "fp32"),
    ]
    assert all(r.e2e_ms is not None and r.e2e_ms.count == 1 for r in result.rows)


def test_bench_compare_checks_its_out_folder_before_timing(
    tmp_path, video_path, onnx_model_path, landmarker_path
):
    taken = tmp_path / "a_file"
    taken.write_text("not a folder")
    proc = _cli("bench", "compare", "--widths", "", "--models", str(onnx_model_path),
                "--size", "256", "--max-frames", "2", "--runs", "1", "--no-e2e", "--no-torch",
                "--source", str(video_path), "--landmarker", str(landmarker_path),
                "--out", str(taken))  # fmt: skip
    assert proc.returncode == 2 and "compare report" in proc.stderr, proc.stderr
    assert "timing" not in proc.stdout, proc.stdout


def test_bench_frames_skip_unreadable_images_in_a_folder(tmp_path, faces_dir):
    """A folder copied from a Mac (._x.jpg), an empty file, a subfolder named like an image:
    the benchmark runs on the images it can read, as every other folder source does."""
    from wds_edge.bench.pipeline_bench import iter_bench_frames
    from wds_edge.errors import InvalidInputError

    (tmp_path / "._a.jpg").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "sub.png").mkdir()
    (tmp_path / "obama.jpg").symlink_to(faces_dir / "obama.jpg")
    frames = list(iter_bench_frames(tmp_path))
    assert [(f[0].shape, f[1]) for f in frames] == [((1137, 910, 3), 2)]
    for junk in ("._a.jpg", "obama.jpg"):
        (tmp_path / junk).unlink()
    with pytest.raises(InvalidInputError, match="no readable images"):
        list(iter_bench_frames(tmp_path))
