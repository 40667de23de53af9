"""`wds-edge analyze` against what an attacker and a full disk did (issue 23): an HDR bomb,
a FIFO named like a photo, an unreadable folder, the disk filling between two files.

Each runs the real command in its own process (a hang or a traceback shows there)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fault_helpers import hdr_bomb

REPO_ROOT = Path(__file__).resolve().parents[3]


def analyze(
    *args: object, model: Path, landmarker: Path, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "wds_edge.cli", "analyze", *map(str, args), "--json"]
    cmd += ["--model", str(model), "--landmarker", str(landmarker), "--backend", "onnxruntime"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [*(prefix or []), *cmd], capture_output=True, text=True, timeout=180, env=env
    )


def lines(proc: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    return {Path(d["input"]).name: d for d in map(json.loads, proc.stdout.splitlines())}


def test_hdr_bomb_is_refused_from_its_header(
    tmp_path: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    bomb = tmp_path / "face.jpg"  # the name lies; the bytes decide
    bomb.write_bytes(hdr_bomb(8000, 8000))
    proc = analyze(bomb, model=onnx_model_path, landmarker=landmarker_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    error = lines(proc)["face.jpg"]["error"]
    assert "Radiance HDR image declaring 8000x8000 pixels" in error and "JPEG" in error
    # and it costs no memory: the process's peak barely moves (OpenCV would take 768 MB)
    code = (
        "import resource, sys\n"
        "from wds_edge.io import read_image\n"
        "from wds_edge.errors import UnsupportedImageError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    read_image(sys.argv[1])\nexcept UnsupportedImageError as e:\n    print(e)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=120
    )
    message, grown_mb = run.stdout.strip().splitlines()
    assert "Radiance HDR" in message
    assert int(grown_mb) < 50, f"reading the HDR bomb grew the process by {grown_mb} MB"


def test_fifo_named_like_a_photo_does_not_hang_the_batch(
    tmp_path: Path, faces_dir: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "cam.jpg")  # nobody ever writes to it
    shutil.copy(faces_dir / "biden2.jpg", folder / "z_face.jpg")
    proc = analyze(folder, model=onnx_model_path, landmarker=landmarker_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    found = lines(proc)
    assert "FIFO" in found["cam.jpg"]["error"]
    assert found["z_face.jpg"]["status"] == "ok"  # the batch went on


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
def test_unreadable_folder_is_one_line(
    tmp_path: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.jpg").write_bytes(b"")
    locked.chmod(0)
    # root reads anything: drop the capabilities that let it, so the mode counts
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    try:
        proc = analyze(locked, model=onnx_model_path, landmarker=landmarker_path, prefix=prefix)
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "PermissionError" not in proc.stderr
    error = lines(proc)["locked"]["error"]
    assert "cannot read the folder (Permission denied)" in error


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_full_disk_leaves_no_overlay_without_its_json(
    tmp_path: Path, faces_dir: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    """The output folder is a small tmpfs (in a private mount namespace) with room for the
    first result and the second overlay, not the second JSON: the second result writes
    nothing at all, the first is whole."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(faces_dir / "biden2.jpg", folder / name)
    sizes = tmp_path / "dry"  # as long a name as "out": the JSON holds the paths
    proc = analyze(folder, "--out", sizes, model=onnx_model_path, landmarker=landmarker_path)
    assert proc.returncode == 0, proc.stderr

    def pages(path: Path) -> int:
        return -(-path.stat().st_size // 4096)

    overlay = pages(sizes / "b_overlay.png")
    assert overlay * 4096 > (1 << 20)  # the command wants 1 MiB free before it starts
    room = (pages(sizes / "a_overlay.png") + pages(sizes / "a.json") + overlay) * 4096
    out = tmp_path / "out"
    out.mkdir()
    mount = ["unshare", "--map-root-user", "--mount", "sh", "-c"]
    probe = subprocess.run(
        [*mount, f'mount -t tmpfs -o size={room} tmpfs "{out}"'],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {probe.stderr.strip()}")
    # mount, run the command, list what the tmpfs holds (it vanishes with the namespace)
    cmd = f'mount -t tmpfs -o size={room} tmpfs "{out}" && "$@"; code=$?; ls -A "{out}"; exit $code'
    run = subprocess.run(
        [*mount, cmd, "sh", sys.executable, "-m", "wds_edge.cli", "analyze", str(folder),
         "--json", "--out", str(out),
         "--model", str(onnx_model_path), "--landmarker", str(landmarker_path),
         "--backend", "onnxruntime"],
        capture_output=True, text=True, timeout=180,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    out_lines = run.stdout.splitlines()
    results = {Path(d["input"]).name: d for d in map(json.loads, out_lines[:2])}
    listing = sorted(out_lines[2:])  # what the tmpfs held when the command ended
    assert results["a.jpg"]["status"] == "ok"
    assert "no space left on the device" in results["b.jpg"]["error"]
    assert listing == ["a.json", "a_overlay.png"], listing  # no b_overlay.png, no temporaries


def test_a_failed_run_leaves_no_empty_output_folder(
    tmp_path: Path, faces_dir: Path, onnx_model_path: Path, landmarker_path: Path
) -> None:
    out = tmp_path / "new" / "results"
    proc = analyze(tmp_path / "missing.jpg", "--out", out, model=onnx_model_path,
                   landmarker=landmarker_path)  # fmt: skip
    assert proc.returncode == 1
    assert not (tmp_path / "new").exists()  # nor the parent it had to create
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    proc = analyze(faces_dir / "biden2.jpg", "--out", out, model=broken, landmarker=landmarker_path)
    assert proc.returncode == 2 and not (tmp_path / "new").exists()
    proc = analyze(faces_dir / "biden2.jpg", "--out", out, model=onnx_model_path,
                   landmarker=landmarker_path)  # fmt: skip
    assert proc.returncode == 0 and (out / "biden2.json").exists()
    kept = tmp_path / "kept"  # a folder that existed before is never removed
    kept.mkdir()
    analyze(tmp_path / "missing.jpg", "--out", kept, model=onnx_model_path,
            landmarker=landmarker_path)  # fmt: skip
    assert kept.is_dir()
