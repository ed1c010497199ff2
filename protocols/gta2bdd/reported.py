"""Numbers published in EGSC-IT (Ma et al., ICLR 2019) Table 3, copied from ``../shared/papers/egsc-it.txt`` §4
("Semantic segmentation evaluation on 256×512 resolution", GTA → BDD): mIoU and "mIoU Gap" (mIoU − Oracle's).
Row labels are the harness's names: ``source`` / ``oracle`` (this protocol's reference rows), ``unit``, ``munit``,
``egscit`` (methods). The paper gives no spread and no seed count.
"""

from __future__ import annotations

from protocols.base import ReportedRow

SOURCE = "EGSC-IT (ICLR 2019) Table 3"
# row: (mIoU, mIoU gap to the Oracle)
TABLE3 = {
    "source": (0.329, -0.119),
    "unit": (0.297, -0.151),
    "munit": (0.331, -0.117),
    "egscit": (0.343, -0.105),
    "oracle": (0.448, 0.0),
}


def reported_rows(translation: str, caveat: str = "") -> list[ReportedRow]:
    """Table 3 as ``ReportedRow`` s (columns ``miou`` and ``gap_to_oracle`` of ``translation``); ``caveat`` (e.g. the
    data is a stand-in) joins the source so every table prints it beside the number."""
    source = SOURCE + (f" ({caveat})" if caveat else "")
    return [ReportedRow(method, metric, translation, value, None, source)
            for method, values in TABLE3.items()
            for metric, value in zip(("miou", "gap_to_oracle"), values, strict=True)]
