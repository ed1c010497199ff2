"""The on-disk cache of reference statistics (``metrics.cache.ArrayCache``): a damaged entry is named and recomputed."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest

from metrics.cache import ArrayCache


def damaged_crc(path: Path) -> None:
    """Flip one byte inside the stored data of the first array (the zip member's CRC-32 no longer matches)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
    data = bytearray(path.read_bytes())
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200  # past the local header
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["truncated", "crc", "not an archive"])
def test_a_damaged_entry_is_named_in_one_warning_and_recomputed(damage: str, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    cache = ArrayCache("inception", tmp_path)
    arrays = {"mu": np.arange(64, dtype=np.float64), "sigma": np.eye(64)}
    path = cache.save("data", "proto", **arrays)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    elif damage == "crc":
        damaged_crc(path)
    else:
        path.write_text("garbage")
    with caplog.at_level(logging.WARNING, logger="metrics.cache"):
        assert cache.load("data", "proto") is None  # never values that load as valid and wrong
    (record,) = caplog.records
    assert str(path) in record.getMessage() and "recomputing it and overwriting the file" in record.getMessage()
    cache.save("data", "proto", **arrays)  # what the caller does next (metrics.inception.reference)
    loaded = cache.load("data", "proto")
    assert loaded is not None and np.array_equal(loaded["sigma"], arrays["sigma"])
