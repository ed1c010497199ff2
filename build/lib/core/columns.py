"""A result column: a metric and the translation it scores, e.g. ``ssim`` of ``A→B``.

One canonical label (``"ssim A→B"``, what protocols list in ``metric_names()``), one MLflow-safe key
(``"ssim.A2B"``: MLflow keys allow letters, digits, ``_-./`` and spaces, not arrows) and one table heading
(``"SSIM A→B"``); each is parsed and formatted here only. A metric without a direction has an empty translation
(label ``"fid"``, key ``"fid"``). The encoded strings are those every MLflow store and committed table already
holds, so old stores still read.
"""

from __future__ import annotations

from typing import NamedTuple

# A method's ``direction`` argument → the translation label of its column.
TRANSLATION_OF = {"AB": "A→B", "BA": "B→A"}
# Translations whose MLflow encoding is decoded back; any other translation is kept as encoded.
TRANSLATIONS = tuple(TRANSLATION_OF.values())


def _encode(translation: str) -> str:
    return translation.replace("→", "2").replace(" ", "_")


_DECODE = {_encode(t): t for t in TRANSLATIONS}


class Column(NamedTuple):
    """``(metric, translation)``; a tuple, so ``values[("ssim", "A→B")]`` and ``metric, translation = column``
    keep working wherever a column keys a dict."""

    metric: str
    translation: str = ""

    @property
    def label(self) -> str:
        """``ssim A→B`` (canonical; ``Protocol.metric_names()`` lists these)."""
        return f"{self.metric} {self.translation}".strip()

    @property
    def key(self) -> str:
        """``ssim.A2B``: the MLflow metric key (``.std`` and ``.n`` are appended to it for the spread and count)."""
        suffix = _encode(self.translation)
        return f"{self.metric}.{suffix}" if suffix else self.metric

    @property
    def heading(self) -> str:
        """``SSIM A→B``: the heading of a table column or figure panel."""
        return f"{self.metric.upper()} {self.translation}".strip()

    @classmethod
    def parse(cls, label: str) -> Column:
        """Inverse of ``label``: ``"ssim A→B"`` → ``Column("ssim", "A→B")``, ``"fid"`` → ``Column("fid", "")``."""
        metric, _, translation = label.strip().partition(" ")
        return cls(metric, translation.strip())

    @classmethod
    def from_key(cls, key: str) -> Column:
        """Inverse of ``key``: ``"ssim.A2B"`` → ``Column("ssim", "A→B")``; raises ValueError for a key without a
        translation part (``"ssim"``: ambiguous with the ``.std``/``.n`` companions, never written for a column
        of a translation protocol)."""
        metric, sep, suffix = key.partition(".")
        if not sep:
            raise ValueError(f"{key!r} is not a <metric>.<translation> key")
        return cls(metric, _DECODE.get(suffix, suffix))
