"""wds_edge.io: atomic writes leave nothing half-written; reads normalize pixel formats."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from wds_edge.errors import InvalidInputError, OutputError
from wds_edge.io import (
    TEMP_PREFIX,
    atomic_write,
    decode_image,
    read_image,
    same_file,
    temporary_name,
    temporary_path,
    write_files_atomic,
    write_image_atomic,
    write_json_atomic,
    write_text_atomic,
)

#: Valid file names of the longest kinds: 233 bytes of UTF-8 (76 CJK characters), 255 ASCII.
LONG_NAMES = ["照片" * 38 + ".json", "r" * 250 + ".json"]


def test_failed_write_leaves_target_untouched_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("half of the new cont")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_a_unit_that_fails_half_way_puts_the_previous_files_back(tmp_path: Path) -> None:
    """The result JSON was renamed into place, then its image could not be (its name is
    taken by a folder): the previous run's JSON comes back, and nothing else is left."""
    (tmp_path / "r.json").write_text("previous")
    (tmp_path / "r.png").mkdir()
    with pytest.raises(OutputError):
        write_files_atomic({tmp_path / "r.json": b"new", tmp_path / "r.png": b"png"})
    assert (tmp_path / "r.json").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.png"]
    (tmp_path / "r.png").rmdir()
    write_files_atomic({tmp_path / "r.json": b"new", tmp_path / "r.png": b"png"})
    assert (tmp_path / "r.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.png"]


def test_a_failed_unit_names_the_file_that_failed_not_the_last_one(tmp_path: Path) -> None:
    """The error named the unit's last temporary's target, whichever file failed."""
    first, last = tmp_path / "r.json", tmp_path / "r.png"
    first.mkdir()  # the first rename fails: its name is taken by a folder
    with pytest.raises(OutputError) as renamed:
        write_files_atomic({first: b"new", last: b"png"})
    assert f"to {first}: it is a folder" in str(renamed.value)
    assert str(last) not in str(renamed.value)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    second = blocker / "sub" / "r_mask.png"  # its folder cannot be made: under a file
    with pytest.raises(OutputError) as written:
        write_files_atomic({tmp_path / "ok.json": b"{}", second: b"png"})
    assert f"to {second}: a part of the path is a file" in str(written.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "r.json"]


def test_new_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    # A fresh process: wds_edge.io reads the umask once, at import.
    probe = (
        "import os, stat, sys\n"
        "os.umask(0o022)\n"
        "from wds_edge.io import write_json_atomic\n"
        "path = write_json_atomic(sys.argv[1], {'x': 1})\n"
        "print(oct(stat.S_IMODE(path.stat().st_mode)))\n"
    )
    target = tmp_path / "sub" / "a.json"
    done = subprocess.run(
        [sys.executable, "-c", probe, str(target)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == oct(0o644)  # 0666 & ~0022
    assert target.read_text() == '{\n  "x": 1\n}\n'


def test_temporary_dirs_get_the_umask_mode_not_0700(tmp_path: Path) -> None:
    # A fresh process: wds_edge.io reads the umask once, at import.
    probe = (
        "import os, stat, sys\n"
        "os.umask(0o022)\n"
        "from wds_edge.io import temporary_dir\n"
        "folder = temporary_dir(sys.argv[1])\n"
        "print(str(folder.parent) == os.path.dirname(sys.argv[1]))\n"
        "print(oct(stat.S_IMODE(folder.stat().st_mode)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "out")], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", oct(0o755)]  # 0777 & ~0022, beside the target


def test_replacing_a_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text("v1")
    path.chmod(0o640)
    write_text_atomic(path, "v2")
    assert path.read_text() == "v2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_image_round_trip_and_bad_extension(tmp_path: Path) -> None:
    image = np.zeros((8, 6, 3), np.uint8)
    image[2, 3] = (10, 20, 30)  # BGR
    out = write_image_atomic(tmp_path / "i.png", image)
    assert np.array_equal(read_image(out), image)
    with pytest.raises(InvalidInputError, match="cannot encode"):
        write_image_atomic(tmp_path / "i.xyz", image)
    assert not (tmp_path / "i.xyz").exists()


def test_reads_grey_16bit_and_rgba_as_bgr_uint8() -> None:
    grey = np.full((4, 4), 200, np.uint8)
    deep = np.full((4, 4, 3), 0x8000, np.uint16)  # 32768 >> 8 = 128
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (1, 2, 3)
    rgba[..., 3] = 7
    for array, expected in ((grey, (200, 200, 200)), (deep, (128, 128, 128)), (rgba, (1, 2, 3))):
        ok, buf = cv2.imencode(".png", array)
        assert ok
        decoded = decode_image(buf.tobytes())
        assert decoded.shape == (4, 4, 3) and decoded.dtype == np.uint8
        assert tuple(int(v) for v in decoded[0, 0]) == expected


def test_empty_truncated_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    ok, buf = cv2.imencode(".jpg", np.full((32, 32, 3), 90, np.uint8))
    assert ok
    (tmp_path / "cut.jpg").write_bytes(buf.tobytes()[: len(buf) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InvalidInputError, match="truncated"):
        read_image(tmp_path / "cut.jpg")
    with pytest.raises(InvalidInputError, match="empty"):
        read_image(tmp_path / "empty.png")
    with pytest.raises(InvalidInputError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(InvalidInputError, match="folder"):
        read_image(tmp_path)


def test_writing_over_a_folder_says_so_in_one_line(tmp_path: Path) -> None:
    """os.replace onto a folder (EISDIR) is an OutputError that names the fix, not an
    IsADirectoryError traceback; the folder and its contents stay, no temporary is left."""
    folder = tmp_path / "report.json"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(OutputError) as info:
        write_text_atomic(folder, "{}")
    message = str(info.value)
    assert f"cannot write the file to {folder}: it is a folder, not a file" in message
    assert "pass a file name" in message and "free space" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert (folder / "inside").is_dir()


@pytest.mark.parametrize("name", LONG_NAMES, ids=["cjk-233-bytes", "ascii-255-bytes"])
def test_a_long_valid_name_is_written_atomically(tmp_path: Path, name: str) -> None:
    """The temporary's name is .wdstmp-<pid>-<name>-<random>.tmp: with the target's whole
    name in it, a valid long name made it 'File name too long' (an OutputError)."""
    target = tmp_path / name
    write_json_atomic(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    other = tmp_path / ("x" + name[1:])
    other.write_bytes(b"previous")  # replaced: the unit keeps a link to it meanwhile
    write_files_atomic({target: b"new", other: b"new too"})
    assert target.read_bytes() == b"new" and other.read_bytes() == b"new too"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, other.name])
    path = temporary_path(target, suffix=".json")
    assert len(os.fsencode(path.name)) <= 255 and path.name.endswith(".json")
    path.write_text("{}")  # a name the file system takes


def test_a_failed_group_of_long_names_puts_every_old_file_back(tmp_path: Path) -> None:
    """<stem>.json and <stem>_overlay.png with a 240-byte stem: the links kept to their old
    contents must not share a name (the second replaced the first, and the rollback then put
    the overlay's old bytes into the .json)."""
    stem = "皱" * 80
    json_path, overlay = tmp_path / f"{stem}.json", tmp_path / f"{stem}_overlay.png"
    mask = tmp_path / f"{stem}_mask.png"
    json_path.write_bytes(b"OLD JSON")
    overlay.write_bytes(b"OLD OVERLAY PNG")
    mask.mkdir()  # its rename fails: the whole group is rolled back
    with pytest.raises(OutputError):
        write_files_atomic({json_path: b"NEW JSON", overlay: b"NEW OVERLAY", mask: b"NEW MASK"})
    assert json_path.read_bytes() == b"OLD JSON"
    assert overlay.read_bytes() == b"OLD OVERLAY PNG"


def test_temporary_names_are_cut_at_a_character_boundary() -> None:
    name = "照片" * 100  # 600 bytes: longer than any file name
    for tail, reserve in (("-old.tmp", 0), ("-", 12), ("", 0)):
        temp = temporary_name(name, tail, reserve=reserve)
        size = len(temp.encode("utf-8"))
        assert 255 - reserve - 2 <= size <= 255 - reserve  # whole 3-byte characters only
        assert temp.startswith(f"{TEMP_PREFIX}{os.getpid()}-照片") and temp.endswith(tail)
        # names that share their first 250 bytes keep distinct temporaries (a cut name ends
        # in a hash of the whole name)
        assert temporary_name(name + "_mask.png", tail, reserve=reserve) != temporary_name(
            name + ".json", tail, reserve=reserve
        )
    assert (
        temporary_name("short.json", "-old.tmp") == f"{TEMP_PREFIX}{os.getpid()}-short.json-old.tmp"
    )


def test_same_file_sees_hard_links_symlinks_and_paths_not_made_yet(tmp_path: Path) -> None:
    a = tmp_path / "a.onnx"
    a.write_bytes(b"x")
    other = tmp_path / "b.onnx"
    other.write_bytes(b"x")  # same content, another file
    os.link(a, tmp_path / "hard.onnx")
    (tmp_path / "link.onnx").symlink_to(tmp_path / "later.onnx")  # a file not made yet
    assert same_file(a, tmp_path / "sub" / ".." / "a.onnx")
    assert same_file(a, tmp_path / "hard.onnx")
    assert same_file(tmp_path / "link.onnx", tmp_path / "later.onnx")
    assert not same_file(a, other)
    assert not same_file(a, tmp_path / "missing.onnx")
