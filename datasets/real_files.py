"""Helpers the real readers share: pairing images with label maps by file stem (ADE20k, COCO-Stuff), checking reader
settings (every reader, through ``RealDataset.__init__``), and unpacking a downloaded archive into the layout a
reader expects."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from core.errors import DataError
from datasets.download import extract
from datasets.real import Entry


def pair_by_stem(images: Iterable[Path], labels: Iterable[Path], what: str,
                 error: Callable[[str], DataError]) -> list[Entry]:
    """``Entry`` s (sorted by name) pairing each image with the label map of the same stem.

    ``what`` names the split in messages; ``error(problem)`` builds the layout error (``RealDataset.error``).
    Raises it when an image has no label map or a label map no image (a partial copy or a mixed-up folder).
    """
    by_image = {p.stem: p for p in images}
    by_label = {p.stem: p for p in labels}
    for have, lack, kind, other in ((by_image, by_label, "images", "label map"),
                                    (by_label, by_image, "label maps", "image")):
        orphans = sorted(set(have) - set(lack))
        if orphans:
            raise error(f"{len(orphans)} {what} {kind} have no {other} of the same name (first: {orphans[0]})")
    return [Entry(stem, by_image[stem], by_label[stem]) for stem in sorted(by_image)]


def _coerce(dataset: str, key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of ``default`` (bool, int, float, str, tuple of str; ``None``: a str or path), so that
    ``reader.k=v`` strings from the command line work; ``DataError`` naming the expected type otherwise."""
    def bad(kind: str) -> DataError:
        return DataError(f"{dataset}: {key}={value!r} is not {kind}", hint=f"give {key} {kind} (default {default!r})")

    if isinstance(default, bool):
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in words:
            return words[value.strip().lower()]
        raise bad("true or false")
    if isinstance(default, (int, float)):
        kind = "an integer" if isinstance(default, int) else "a number"
        if isinstance(value, bool):
            raise bad(kind)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad(kind) from None
        if not math.isfinite(number) or (isinstance(default, int) and not number.is_integer()):
            raise bad(kind)
        return int(number) if isinstance(default, int) else number
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
            raise bad("a list of names (a,b,c)")
        return tuple(v.strip() for v in items if v.strip())
    if default is None or isinstance(default, str):
        if isinstance(value, Path) and default is None:
            return str(value)
        if not isinstance(value, str):
            raise bad("a path" if default is None else "a name")
        return value
    return value


def checked_settings(dataset: str, defaults: Mapping[str, Any], settings: Mapping[str, Any],
                     choices: Mapping[str, Iterable[str]] | None = None,
                     ranges: Mapping[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """``defaults`` updated with ``settings`` (so that every default goes into the fingerprint too; a ``None``
    default means "unset" and is left out until given), each value coerced to its default's type (``_coerce``).

    Raises ``DataError`` for a setting not in ``defaults``, a value of the wrong type, a number outside
    ``ranges[setting]`` = (low, high) (inclusive) or a value outside ``choices[setting]``.
    """
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise DataError(f"{dataset} has no setting {unknown[0]!r}",
                        hint=f"use {sorted(defaults)}" if defaults else f"{dataset} takes no reader settings")
    merged = {k: v for k, v in defaults.items() if v is not None}
    merged.update({k: _coerce(dataset, k, v, defaults[k]) for k, v in settings.items()})
    for key, (low, high) in (ranges or {}).items():
        if not low <= merged[key] <= high:
            raise DataError(f"{dataset}: {key}={merged[key]} is outside {low}..{high}",
                            hint=f"give {key} a value from {low} to {high} (default {defaults[key]})")
    for key, allowed in (choices or {}).items():
        if merged[key] not in allowed:
            raise DataError(f"{dataset}: {key}={merged[key]!r} is not known", hint=f"use one of {sorted(allowed)}")
    return merged


def unpack(archive: Path, into: Path, strip: str | None = None) -> None:
    """Unpack ``archive`` and move its top-level entries into ``into`` (those already there are kept).

    ``strip`` names a single top folder of the archive to descend into first (``ADEChallengeData2016.zip`` holds
    ``ADEChallengeData2016/``). Unpacking goes through ``download.extract`` (a temporary folder, then a rename), so an
    interrupted run leaves no half-filled layout.
    """
    into.mkdir(parents=True, exist_ok=True)
    staging = extract(archive, into / f".unpacking-{archive.name}")
    source = staging / strip if strip and (staging / strip).is_dir() else staging
    for child in source.iterdir():
        if not (into / child.name).exists():
            child.replace(into / child.name)
    shutil.rmtree(staging, ignore_errors=True)
