"""`wds-edge serve` on other addresses than 127.0.0.1 (a real server process): the page
answers at the URL it prints, a refused Host is told a URL that works for this bind, and
the remote warning is printed once with the real port."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

TOKEN = "b1nd-t0ken"


def model_args(onnx_model_path: Path, landmarker_path: Path) -> list[str]:
    return [
        "--model", str(onnx_model_path), "--landmarker", str(landmarker_path),
        "--backend", "onnxruntime", "--threads", "1",
    ]  # fmt: skip


def test_another_loopback_address_answers_at_its_printed_url(
    onnx_model_path: Path, landmarker_path: Path, serve_process: Any, tmp_path: Path
) -> None:
    """--host 127.0.0.2 printed http://127.0.0.2:PORT/ and then refused that very Host
    (400, "open it as http://127.0.0.1:PORT/", where nothing listened)."""
    args = ["--host", "127.0.0.2", *model_args(onnx_model_path, landmarker_path)]
    server = serve_process(args, tmp_path / "stderr.log")
    try:
        assert server.host == "127.0.0.2"
        assert f"page: http://127.0.0.2:{server.port}/," in server.line, server.line
        host = f"127.0.0.2:{server.port}"
        for path in ("/", "/healthz"):
            status, body = server.request("GET", path, host=host)
            assert status == 200, (path, body)
        status, body = server.request("GET", "/healthz", host="evil.example")
        assert status == 400
        assert f"open it as http://127.0.0.2:{server.port}/ " in body["error"], body
    finally:
        assert server.stop() == 0, server.log()


def test_a_wildcard_bind_answers_at_the_urls_it_prints_and_warns_once(
    onnx_model_path: Path, landmarker_path: Path, serve_process: Any, tmp_path: Path
) -> None:
    """--host 0.0.0.0 printed http://0.0.0.0:PORT/, which got 400 like the machine's own
    addresses; the remote warning named "port 0" and came twice (console and log)."""
    from wds_edge.service.origin import local_addresses

    args = [
        "--host", "0.0.0.0", "--allow-remote", "--token", TOKEN,
        *model_args(onnx_model_path, landmarker_path),
    ]  # fmt: skip
    server = serve_process(args, tmp_path / "stderr.log")
    try:
        port, auth = server.port, {"X-WDS-Token": TOKEN}
        pages = re.findall(r"http://[^\s/]+/", server.line.split("page: ")[1])
        assert pages and pages[0] == f"http://127.0.0.1:{port}/", server.line
        assert "--allowed-host" in server.line
        others = {a for a in local_addresses() if not a.startswith(("127.", "::1"))}
        ipv4 = {a for a in others if ":" not in a}
        assert {f"http://{a}:{port}/" for a in ipv4} <= set(pages), server.line
        for page in pages:  # every URL it printed, reached under its own Host
            netloc = page.removeprefix("http://").rstrip("/")
            status, body = server.request(
                "GET", "/healthz", host=netloc, headers=auth, address=netloc.rsplit(":", 1)[0]
            )
            assert status == 200, (page, body)
        for address in ("0.0.0.0", *sorted(ipv4)):  # the bound address, this machine's
            status, body = server.request(
                "GET", "/healthz", host=f"{address}:{port}", headers=auth, address="127.0.0.1"
            )
            assert status == 200, (address, body)
        status, body = server.request(
            "GET", "/healthz", host="evil.example", headers=auth, address="127.0.0.1"
        )
        assert status == 400 and f"open it as http://127.0.0.1:{port}/ " in body["error"]
        for address in sorted(ipv4):  # the advice names the address the client reached
            status, body = server.request(
                "GET", "/healthz", host="evil.example", headers=auth, address=address
            )
            assert status == 400 and f"open it as http://{address}:{port}/ " in body["error"]
    finally:
        assert server.stop() == 0, server.log()
    log = " ".join(server.log().split())
    assert log.count("beyond this machine") == 1, log
    assert f"anyone who can reach port {port} and knows the token" in log, log
