"""Checksummed, resumable downloads into the data cache (``$BENCH_DATA``, default ``~/.cache/bench/data``).

``fetch`` continues a partial ``<name>.part`` file with an HTTP Range request, verifies the sha256 and only then
moves the file into place (atomic rename), so an interrupted or corrupt download never looks complete. ``extract``
unpacks a zip/tar archive into a folder through a temporary sibling and a rename, for the same reason.
Sources behind a licence form have no URL here; their readers print the steps instead (``DataError`` hints).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError
from core.hashing import file_sha256


def data_cache() -> Path:
    """Where downloaded datasets and cached world renders live: ``$BENCH_DATA`` or ``~/.cache/bench/data``."""
    return Path(os.environ.get("BENCH_DATA", Path.home() / ".cache" / "bench" / "data")).expanduser()


@dataclass(frozen=True)
class Remote:
    """A public file: its URL, sha256 (``None`` where the publisher gives none; the digest is then recorded, not
    checked) and size in bytes (for messages)."""

    url: str
    sha256: str | None = None
    size: int | None = None

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]


def fetch(remote: Remote, folder: str | Path, chunk: int = 1 << 20, timeout: float = 60.0) -> Path:
    """Download ``remote`` into ``folder`` (resuming a ``.part`` file) and return the verified path.

    Raises ``DataError`` naming the URL and the fix when the network fails or the checksum does not match.
    """
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    if target.is_file() and (remote.sha256 is None or file_sha256(target) == remote.sha256):
        return target
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(remote.url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = offset and getattr(response, "status", 200) == 206
            with open(part, "ab" if resumed else "wb") as out:
                shutil.copyfileobj(response, out, chunk)
    except OSError as exc:
        raise DataError(f"could not download {remote.url}: {exc}",
                        hint=f"check the connection and run again (the partial file {part} is resumed), or download "
                             f"it by hand into {folder}") from None
    digest = file_sha256(part)
    if remote.sha256 is not None and digest != remote.sha256:
        part.unlink(missing_ok=True)
        raise DataError(f"{remote.url} downloaded with sha256 {digest}, expected {remote.sha256}",
                        hint="run again to download afresh; if it persists the file on the server has changed")
    part.replace(target)
    return target


def extract(archive: str | Path, destination: str | Path) -> Path:
    """Unpack a .zip / .tar(.gz) ``archive`` into ``destination`` (atomically: a temporary sibling, then rename)."""
    archive, destination = Path(archive), Path(destination)
    if destination.exists():
        return destination
    tmp = destination.with_name(destination.name + ".extracting")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
    else:
        raise DataError(f"{archive} is neither a zip nor a tar archive", hint="delete it and download it again")
    tmp.replace(destination)
    return destination
