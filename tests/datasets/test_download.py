"""Checksummed, resumable downloads against a local HTTP server that honours Range requests."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from pathlib import Path
from typing import ClassVar

import pytest

from core.errors import DataError
from datasets.download import Remote, data_cache, extract, fetch

PAYLOAD = bytes(range(256)) * 400


class _Handler(http.server.BaseHTTPRequestHandler):
    ranges: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path != "/data.bin":
            self.send_error(404)
            return
        start = 0
        if rng := self.headers.get("Range"):
            _Handler.ranges.append(rng)
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_fetch_verifies_and_moves_into_place(server, tmp_path):
    path = fetch(Remote(f"{server}/data.bin", SHA), tmp_path)
    assert path == tmp_path / "data.bin" and path.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()
    assert fetch(Remote(f"{server}/data.bin", SHA), tmp_path) == path  # present and verified: no request


def test_fetch_resumes_a_partial_file_with_a_range_request(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:1000])
    _Handler.ranges.clear()
    path = fetch(Remote(f"{server}/data.bin", SHA), tmp_path)
    assert _Handler.ranges == ["bytes=1000-"]
    assert path.read_bytes() == PAYLOAD


def test_a_wrong_checksum_leaves_nothing_that_looks_complete(server, tmp_path):
    with pytest.raises(DataError, match=r"expected 0+"):
        fetch(Remote(f"{server}/data.bin", "0" * 64), tmp_path)
    assert not list(tmp_path.iterdir())


def test_network_errors_name_the_url_and_the_fix(server, tmp_path):
    with pytest.raises(DataError, match=r"could not download .*missing\.bin") as info:
        fetch(Remote(f"{server}/missing.bin"), tmp_path)
    assert "resumed" in str(info.value)


def test_extract_is_atomic_and_refuses_other_files(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("inner/x.txt", "hello")
    out = extract(archive, tmp_path / "out")
    assert (out / "inner" / "x.txt").read_text() == "hello"
    assert not (tmp_path / "out.extracting").exists()
    (tmp_path / "junk.zip").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="neither a zip nor a tar"):
        extract(tmp_path / "junk.zip", tmp_path / "junk")


def test_data_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    assert data_cache() == Path(tmp_path)
