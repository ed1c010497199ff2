"""GTA5 → BDD100K segmentation transfer (EGSC-IT, ICLR 2019, §4 street view, Table 3): translate every GTA5 image
under an arbitrary BDD100K exemplar, train a segmenter on the translations, test it on BDD100K val. See README.md."""

from __future__ import annotations

from protocols import PROTOCOLS
from protocols.gta2bdd.protocol import GTA2BDD

PROTOCOLS.register("gta2bdd")(GTA2BDD)

__all__ = ["GTA2BDD"]
