"""`import wds_edge` and a full CPU analysis work with torch made unimportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith(("torch.", "torchvision", "torchaudio")):
                raise ImportError(f"{name} is blocked for this test")
            return None

    sys.meta_path.insert(0, NoTorch())
    import wds_edge
    import wds_edge.cli
    from wds_edge.analysis.analyzer import WrinkleAnalyzer
    from wds_edge.analysis.batch import analyze_inputs
    from wds_edge.analysis.overlay import draw_overlay
    from wds_edge.analysis.session import KioskSession

    model, landmarker, image = sys.argv[1:4]
    with WrinkleAnalyzer(model_path=model, landmarker_path=landmarker,
                         backend="onnxruntime") as analyzer:
        result = analyzer.analyze_file(image)
        overlay = draw_overlay(wds_edge.read_image(image), result)
        session = KioskSession(analyzer, frames_needed=1, frames_fused=1, max_frames=1)
        session.feed(wds_edge.read_image(image))
        final = session.final_result()
    loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    print(json.dumps({"result": result.to_dict(), "torch_modules": loaded,
                      "overlay_shape": list(overlay.shape), "session_done": final.complete}))
    """
)


def test_full_analysis_without_torch(
    onnx_model_path: Path, landmarker_path: Path, faces_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "no_torch.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            str(onnx_model_path),
            str(landmarker_path),
            str(faces_dir / "biden2.jpg"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert data["torch_modules"] == []
    assert data["result"]["status"] == "ok" and data["result"]["segmented"]
    assert "overall" in data["result"]["scores"] and "inference" in data["result"]["timings_ms"]
    assert data["overlay_shape"] == [1200, 1200, 3] and data["session_done"]
