"""The long-format result row that every number travels in, from protocol to MLflow to ``metrics.csv`` to reports.

``metrics.csv`` columns (one row per method × metric × translation; failed and refused methods get a row with an
empty value and the reason in ``note``; reported rows carry ``source='reported: <paper table>'``):
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from core.columns import Column
from core.errors import BenchError


@dataclass
class ResultRow:
    protocol: str
    method: str  # the row label, e.g. ``munit`` or a variant ``egscit_no_feature_mask``
    metric: str  # registered metric name, e.g. ``ssim``
    translation: str  # e.g. ``A→B``; empty when the metric has no direction
    value: float | None
    std: float | None
    n: int | None
    direction: str  # ``higher`` or ``lower`` is better
    protocol_hash: str
    calibrated: bool
    status: str  # ``ok``, ``failed``, ``refused`` or ``reported``
    source: str = "ours"  # ``ours`` or ``reported: <paper, table>``
    note: str = ""
    method_class: str = ""  # the registered method the row label resolves to
    scale: str = ""
    seed: int | None = None
    data_source: str = ""
    data_fingerprint: str = ""
    run_name: str = ""
    git_commit: str = ""
    precision: str = ""  # how the methods trained: ``fp32`` or ``bf16`` autocast (``bench.devices``)
    processes: int | None = None  # data-parallel processes (1: none); the global batch is the preset's either way

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(ResultRow)]


INT_COLUMNS = ("n", "seed", "processes")  # whole numbers, empty where a row has none (reported rows)


def rows_frame(rows: list[ResultRow]) -> pd.DataFrame:
    frame = pd.DataFrame([r.as_dict() for r in rows], columns=COLUMNS)
    return frame.astype({c: "Int64" for c in INT_COLUMNS})  # 256, not 256.0, beside the empty cells


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write via a temp file and rename, so a crash or a full disk never leaves a partial file that looks complete
    (the temp file is removed when the write fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# errors that only a write meets: a run that hits one mid-way stops with ``write_error``'s line, not a traceback
FULL_OR_READ_ONLY = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT})
_WRITE_PROBLEMS = {errno.EROFS: "the file system is read-only", errno.ENOSPC: "the disk is full",
                   errno.EDQUOT: "the disk quota is exhausted", errno.EACCES: "no permission to write there",
                   errno.EPERM: "no permission to write there", errno.ENOTDIR: "a file stands where a folder should"}


def write_error(exc: OSError, folder: Path, option: str = "paths.results") -> BenchError:
    """A one-line ``BenchError`` for an ``OSError`` met while writing under ``folder`` (set by ``option``): the file,
    the cause (read-only, full, no permission) and the fix."""
    where = exc.filename or folder
    problem = _WRITE_PROBLEMS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return BenchError(f"cannot write {where}: {problem} ({exc.strerror or exc})",
                      hint=f"free space or make {folder} writable, or set {option}= to a writable folder; "
                           "nothing of this run counts as a result")


def check_writable(folder: Path, option: str = "paths.results") -> None:
    """Raise ``write_error``'s ``BenchError`` when ``folder`` (created if missing; set by ``option``) cannot take a
    file: a read-only file system, no permission, a full disk. Checked before a run starts, not after training."""
    probe = folder / f".bench-write-probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(bytes(4096))
            handle.flush()
            os.fsync(handle.fileno())  # a full disk may only say so here
    except OSError as exc:
        raise write_error(exc, folder, option) from exc
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)


def number_spec(value: float, digits: int = 3, signed: bool = False) -> str:
    """The format spec for ``value`` and its interval/spread: ``digits`` decimals, or scientific notation with
    ``digits`` significant digits when 0 < |value| < 10^-(digits-1) (so that ~1e-4 does not print as 0.000)."""
    sign = "+" if signed else ""
    return f"{sign}.{digits - 1}e" if 0 < abs(value) < 10 ** -(digits - 1) else f"{sign}.{digits}f"


def format_cell(value: float | None, std: float | None, digits: int = 3) -> str:
    """``value ± std`` with ``digits`` decimals; values below 10^-(digits-1) in magnitude (e.g. MSCA's Gram style loss,
    ~1e-4) in scientific notation with ``digits`` significant digits, so that they do not print as 0.000."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    spec = number_spec(value, digits)
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{value:{spec}}"
    return f"{value:{spec}} ± {std:{spec}}"


def comparison_table(rows: list[ResultRow]) -> pd.DataFrame:
    """A wide table: one line per method (ours, then reported), one column per metric × translation.

    Columns from different protocol hashes are never merged: each hash gets its own columns, suffixed with it.
    """
    frame = rows_frame(rows)
    if frame.empty:
        return frame
    hashes = [h for h in frame["protocol_hash"].unique() if h]
    multi_hash = len(hashes) > 1

    def column(r: pd.Series) -> str:
        name = Column(r["metric"], r["translation"]).heading
        return f"{name} [{r['protocol_hash']}]" if multi_hash and r["source"] == "ours" else name

    frame["column"] = frame.apply(column, axis=1)
    frame["cell"] = [
        format_cell(v, s) if st in {"ok", "reported"} else st.upper()
        for v, s, st in zip(frame["value"], frame["std"], frame["status"], strict=True)
    ]
    frame["label"] = [
        (m if src == "ours" else f"{m} ({src})") + ("" if cal or st != "ok" else " [uncalibrated]")
        for m, src, cal, st in zip(frame["method"], frame["source"], frame["calibrated"], frame["status"], strict=True)
    ]
    order = list(dict.fromkeys(frame["label"]))
    columns = list(dict.fromkeys(frame["column"]))
    table = frame.pivot_table(index="label", columns="column", values="cell", aggfunc="first").reindex(order)
    table = table.reindex(columns=columns).fillna("")
    notes = frame.groupby("label", sort=False).apply(
        # one fragment once per row: the per-metric notes repeat e.g. the uncalibrated warning
        lambda g: NOTE_SEPARATOR.join(
            dict.fromkeys(f for n in g["note"] if n for f in n.split(NOTE_SEPARATOR) if f)),
        include_groups=False,
    )
    status = frame.groupby("label", sort=False)["status"].first()
    for label, st in status.items():  # a refused or failed row says so in every column, companions (KID) included
        if st in {"refused", "failed"}:
            table.loc[label] = table.loc[label].replace("", st.upper())
    table.insert(0, "status", status.reindex(order))
    table["note"] = notes.reindex(order).fillna("")
    table.index.name = "method"
    return table


NOTE_SEPARATOR = "; "  # how comparison_table joins a row's note fragments


def note_markers(notes: Iterable[Any], numbers: dict[str, int]) -> list[str]:
    """Footnote markers (``"[1] [3]"``) for each note, its ``NOTE_SEPARATOR``-joined fragments numbered in order of
    first appearance in ``numbers`` (fragment → number; filled in place, so callers can add more footnotes)."""
    markers = []
    for note in notes:
        fragments = [f for f in str(note).split(NOTE_SEPARATOR) if f] if isinstance(note, str) else []
        for fragment in fragments:
            numbers.setdefault(fragment, len(numbers) + 1)
        markers.append(" ".join(f"[{numbers[f]}]" for f in dict.fromkeys(fragments)))
    return markers


def footnoted(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``table`` (from comparison_table) with each row's ``note`` replaced by footnote markers, and the notes.

    Each distinct note fragment gets one number, in order of first appearance; a row shows the numbers of its
    fragments (``[1] [3]``). Returns a copy and the fragment texts (footnote ``[i]`` is ``notes[i - 1]``); a table
    without a ``note`` column comes back unchanged with no notes. Keeps terminal tables narrow: the long per-metric
    warnings would otherwise be repeated, in full, on every row.
    """
    if "note" not in table.columns:
        return table, []
    numbers: dict[str, int] = {}
    markers = note_markers(table["note"], numbers)
    out = table.copy()
    out["note"] = markers
    labels = []
    for label in out.index:  # "m (reported: <paper, table; caveat>)" → "m (reported [k])": the source as a footnote
        method, sep, source = str(label).partition(" (reported: ")
        if not sep or len(source) <= REPORTED_INLINE:
            labels.append(label)
            continue
        fragment = "reported: " + source.removesuffix(")")
        numbers.setdefault(fragment, len(numbers) + 1)
        labels.append(f"{method} (reported [{numbers[fragment]}])")
    out.index = pd.Index(labels, name=out.index.name)
    return out, list(numbers)


REPORTED_INLINE = 40  # a reported row's source longer than this goes to a footnote in terminal tables
