"""Finding and fetching the FaceLandmarker model (real file:// downloads, real checksums)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wds_edge.errors import InvalidInputError, ModelError
from wds_edge.perception.landmarker_model import (
    FACE_LANDMARKER_ENV,
    FACE_LANDMARKER_SHA256,
    FACE_LANDMARKER_URL,
    fetch_face_landmarker,
    resolve_face_landmarker,
    user_model_dir,
)


@pytest.fixture()
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user cache at an empty temp folder and clear the env override."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(FACE_LANDMARKER_ENV, raising=False)
    cache = user_model_dir()
    assert str(cache).startswith(str(tmp_path))
    return cache


def test_fetch_file_url_verifies_and_saves(landmarker_path: Path, tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []
    saved = fetch_face_landmarker(
        tmp_path / "models",
        url=landmarker_path.as_uri(),
        progress=lambda done, total, _info: progress.append((done, total)),
    )
    assert saved == tmp_path / "models" / "face_landmarker.task"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == FACE_LANDMARKER_SHA256
    assert progress[-1][0] == landmarker_path.stat().st_size
    assert [p.name for p in saved.parent.iterdir()] == ["face_landmarker.task"]  # no temp left
    assert os.stat(saved).st_mode & 0o044  # readable by others, like any installed model


def test_fetch_wrong_checksum_leaves_nothing(landmarker_path: Path, tmp_path: Path) -> None:
    dest = tmp_path / "models"
    with pytest.raises(ModelError, match="sha256"):
        fetch_face_landmarker(dest, url=landmarker_path.as_uri(), sha256="0" * 64)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("sha256", ["abc", "g" * 64, FACE_LANDMARKER_SHA256 + "0", ""])
def test_fetch_refuses_a_digest_that_is_no_sha256_before_downloading(
    landmarker_path: Path, tmp_path: Path, sha256: str
) -> None:
    """A typo in the digest is the caller's mistake, told before anything is fetched or
    created, not blamed on the downloaded file as 'corrupt, truncated'."""
    dest = tmp_path / "models"
    with pytest.raises(InvalidInputError, match="64 hex digits"):
        fetch_face_landmarker(dest, url=landmarker_path.as_uri(), sha256=sha256)
    assert not dest.exists()


def test_fetch_takes_an_upper_case_digest(landmarker_path: Path, tmp_path: Path) -> None:
    saved = fetch_face_landmarker(
        tmp_path, url=landmarker_path.as_uri(), sha256=FACE_LANDMARKER_SHA256.upper()
    )
    assert saved.is_file()


def test_fetch_wrong_checksum_keeps_existing_good_file(
    landmarker_path: Path, tmp_path: Path
) -> None:
    good = fetch_face_landmarker(tmp_path, url=landmarker_path.as_uri())
    with pytest.raises(ModelError):
        fetch_face_landmarker(tmp_path, url=landmarker_path.as_uri(), sha256="1" * 64)
    assert hashlib.sha256(good.read_bytes()).hexdigest() == FACE_LANDMARKER_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face_landmarker.task"]


def test_fetch_offline_says_what_to_do(tmp_path: Path) -> None:
    # Port 9 (discard) on localhost is closed here: a real refused connection.
    with pytest.raises(ModelError) as info:
        fetch_face_landmarker(tmp_path, url="http://127.0.0.1:9/face_landmarker.task", timeout_s=5)
    message = str(info.value)
    assert "http://127.0.0.1:9/face_landmarker.task" in message
    assert FACE_LANDMARKER_URL in message and FACE_LANDMARKER_ENV in message
    assert list(tmp_path.iterdir()) == []


def test_resolution_order_explicit_env_cache(
    landmarker_path: Path, tmp_path: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = fetch_face_landmarker(url=landmarker_path.as_uri())  # default dest: the cache
    assert cached == isolated_cache / "face_landmarker.task"
    assert resolve_face_landmarker() == cached.resolve()

    env_copy = tmp_path / "env" / "face_landmarker.task"
    env_copy.parent.mkdir()
    env_copy.symlink_to(landmarker_path)
    monkeypatch.setenv(FACE_LANDMARKER_ENV, str(env_copy))
    assert resolve_face_landmarker() == env_copy.resolve()

    explicit = tmp_path / "explicit.task"
    explicit.write_bytes(landmarker_path.read_bytes())
    assert resolve_face_landmarker(explicit) == explicit.resolve()


def test_missing_explicit_or_env_path_is_an_error_not_a_fallback(
    landmarker_path: Path, tmp_path: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch_face_landmarker(url=landmarker_path.as_uri())  # a good model sits in the cache
    with pytest.raises(ModelError, match="explicit path"):
        resolve_face_landmarker(tmp_path / "nope.task")
    monkeypatch.setenv(FACE_LANDMARKER_ENV, str(tmp_path / "missing.task"))
    with pytest.raises(ModelError, match=FACE_LANDMARKER_ENV):
        resolve_face_landmarker()


def test_no_model_anywhere_tells_what_to_do(isolated_cache: Path) -> None:
    with pytest.raises(ModelError) as info:
        resolve_face_landmarker()
    message = str(info.value)
    assert "wds-edge models fetch" in message
    assert FACE_LANDMARKER_ENV in message and "--landmarker" in message


def test_corrupt_model_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "face_landmarker.task"
    bad.write_bytes(os.urandom(1000))
    with pytest.raises(ModelError, match="corrupt"):
        resolve_face_landmarker(bad)
    empty = tmp_path / "empty.task"
    empty.write_bytes(b"")
    with pytest.raises(ModelError):
        resolve_face_landmarker(empty)


def test_cli_models_fetch_and_path(
    landmarker_path: Path, tmp_path: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wds_edge.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["models", "path"])
    assert result.exit_code == 1, result.output
    assert "wds-edge models fetch" in result.output

    result = runner.invoke(
        app, ["models", "fetch", "--dest", str(tmp_path / "m"), "--url", landmarker_path.as_uri()]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "face_landmarker.task").is_file()

    monkeypatch.setenv(FACE_LANDMARKER_ENV, str(tmp_path / "m" / "face_landmarker.task"))
    result = runner.invoke(app, ["models", "path"])
    assert result.exit_code == 0, result.output
    assert "present" in result.output

    result = runner.invoke(
        app, ["models", "fetch", "--dest", str(tmp_path / "x"), "--url",
              landmarker_path.as_uri(), "--sha256", "2" * 64],
    )  # fmt: skip
    assert result.exit_code != 0
    assert isinstance(result.exception, ModelError)


def _damaged_copy(source: Path, dest: Path, offset: int) -> Path:
    """A copy of ``source`` with one byte flipped at ``offset`` (same size)."""
    data = bytearray(source.read_bytes())
    data[offset] ^= 0xFF
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(bytes(data))
    return dest


def test_same_size_damaged_canonical_model_is_refused(
    landmarker_path: Path, tmp_path: Path
) -> None:
    # A byte flipped inside a TFLite member: same size, valid zip header; MediaPipe would
    # load it and return wrong landmarks without a word.
    bad = _damaged_copy(landmarker_path, tmp_path / "face_landmarker.task", 1_000_000)
    with pytest.raises(ModelError) as info:
        resolve_face_landmarker(bad)
    message = str(info.value)
    assert str(bad) in message and "sha256" in message and "wds-edge models fetch" in message
    assert resolve_face_landmarker(landmarker_path) == landmarker_path.resolve()


def test_canonical_model_is_hashed_once_per_process(
    landmarker_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wds_edge.perception import landmarker_model

    model = tmp_path / "face_landmarker.task"
    model.write_bytes(landmarker_path.read_bytes())
    calls: list[Path] = []
    real = landmarker_model.sha256_file

    def counting(path: Path) -> str:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(landmarker_model, "sha256_file", counting)
    for _ in range(3):
        resolve_face_landmarker(model)
    assert calls == [model]
    # Replaced in place (new mtime): checked again, and the damage is found.
    _damaged_copy(landmarker_path, model, 2_000_000)
    os.utime(model, ns=(1, 1))
    with pytest.raises(ModelError, match="sha256"):
        resolve_face_landmarker(model)
    assert len(calls) == 2


def test_custom_model_with_a_bad_crc_is_refused(tmp_path: Path) -> None:
    import zipfile

    custom = tmp_path / "custom.task"
    payload = bytes(range(256)) * 64
    with zipfile.ZipFile(custom, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("face_landmarks_detector.tflite", payload)
    assert resolve_face_landmarker(custom) == custom.resolve()  # an intact custom model loads

    damaged = _damaged_copy(custom, tmp_path / "damaged" / "custom.task", 100 + len(payload) // 2)
    with pytest.raises(ModelError, match="CRC") as info:
        resolve_face_landmarker(damaged)
    assert "face_landmarks_detector.tflite" in str(info.value)

    truncated = tmp_path / "truncated.task"
    truncated.write_bytes(custom.read_bytes()[: len(payload) // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        resolve_face_landmarker(truncated)


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_fetch_into_an_unusable_folder_is_one_clear_line(
    where: str, landmarker_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wds_edge.cli import main
    from wds_edge.errors import OutputError

    blocker = tmp_path / "afile"
    blocker.write_text("x")
    dest = blocker if where == "a file" else blocker / "sub"
    with pytest.raises(OutputError, match="FaceLandmarker model") as info:
        fetch_face_landmarker(dest, url=landmarker_path.as_uri())
    assert str(dest) in str(info.value)

    with pytest.raises(SystemExit) as exit_info:
        main(["models", "fetch", "--dest", str(dest), "--url", landmarker_path.as_uri()])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "FileExistsError" not in err
    assert str(dest) in "".join(err.split())  # rich may wrap the line
    assert blocker.read_text() == "x"


def _one_shot_server(reply: bytes) -> tuple[str, threading.Thread]:
    """A real TCP server on a free loopback port that answers one request with ``reply``
    and closes the connection (what a dropped download or a non-HTTP service looks like)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    port = server.getsockname()[1]

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}/face_landmarker.task", thread


@pytest.mark.parametrize(
    "reply",
    [
        # a chunked body that stops after its first chunk: http.client.IncompleteRead
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n",
        # an SSH server on the port: http.client.BadStatusLine
        b"SSH-2.0-OpenSSH_9.0\r\n",
    ],
    ids=["incomplete-chunked", "not-http"],
)
def test_fetch_broken_http_response_is_one_clear_line(
    reply: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A response cut short or not HTTP at all is the download failing (ModelError, exit 2,
    one line), not a traceback; nothing is left in the folder."""
    from wds_edge.cli import main

    url, thread = _one_shot_server(reply)
    with pytest.raises(ModelError) as info:
        fetch_face_landmarker(tmp_path, url=url, timeout_s=5)
    thread.join(5)
    assert url in str(info.value) and FACE_LANDMARKER_ENV in str(info.value)
    assert list(tmp_path.iterdir()) == []

    url, thread = _one_shot_server(reply)
    with pytest.raises(SystemExit) as exit_info:
        main(["models", "fetch", "--dest", str(tmp_path), "--url", url])
    thread.join(5)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Could not download" in err
    assert list(tmp_path.iterdir()) == []
