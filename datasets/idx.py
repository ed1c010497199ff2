"""Reader for the IDX format that MNIST ships in (LeCun et al.): gzip-compressed or raw.

Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then one big-endian int32 per
dimension. Every check names the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from core.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx_bytes(path: str | Path) -> tuple[bytes, bytes]:
    """``(stored, content)``: the file's bytes as stored and the IDX bytes after gunzip (the same object for a raw
    file). Compression is detected from the gzip magic, not the file name. Raises DataError for a missing file or a
    corrupt gzip stream."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"IDX file {path} does not exist")
    stored = path.read_bytes()
    if stored[:2] != b"\x1f\x8b":
        return stored, stored
    try:
        return stored, gzip.decompress(stored)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is a truncated or corrupt gzip file ({exc})",
                        hint="delete it and download it again") from exc


def read_idx(path: str | Path, expect_magic: int | None = None) -> np.ndarray:
    """The array in an IDX file (gz or raw), shape from its header, native byte order; DataError names what is wrong."""
    return parse_idx(read_idx_bytes(path)[1], path, expect_magic)


def parse_idx(raw: bytes, path: str | Path, expect_magic: int | None = None) -> np.ndarray:
    """The array in decompressed IDX bytes ``raw``; ``path`` only names the file in errors."""
    if len(raw) < 4:
        raise DataError(f"{path} is too short ({len(raw)} bytes) to hold an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or raw[3] == 0:
        raise DataError(f"{path} does not start with an IDX magic number (got 0x{magic:08x})",
                        hint="is this an MNIST IDX file (e.g. t10k-images-idx3-ubyte.gz)?")
    if expect_magic is not None and magic != expect_magic:
        raise DataError(f"{path} has IDX magic {magic}, expected {expect_magic} "
                        f"({'images' if expect_magic == 2051 else 'labels'})",
                        hint="check that image and label files are not swapped")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} ends inside its header ({len(raw)} bytes, header needs {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{path} holds {len(raw) - header} data bytes but its header {shape} needs "
                        f"{expected - header}: the file is truncated or has trailing bytes",
                        hint="delete it and download it again")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write an IDX file (used by tests to make fixtures, and handy for users converting data)."""
    path = Path(path)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}
    code = codes[array.dtype.newbyteorder("=")]
    body = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    body += np.ascontiguousarray(array, dtype=np.dtype(_DTYPES[code])).tobytes()
    compress = path.suffix == ".gz" if compress is None else compress
    path.write_bytes(gzip.compress(body, mtime=0) if compress else body)
    return path
