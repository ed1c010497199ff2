"""File helpers the folder-based real readers share (ADE20k, COCO-Stuff): pairing images with label maps by file
stem, and unpacking a downloaded archive into the layout a reader expects."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

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
