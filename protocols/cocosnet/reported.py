"""Numbers published in CoCosNet (Zhang et al., CVPR 2020), copied from ``../shared/papers/cocosnet.txt`` §4.

Table 1 (FID / SWD), Table 2 (semantic consistency), Table 3 (style relevance colour / texture; no Pix2pixHD row
and no ADE20k-outdoor column), Table 4 (ablation; its Full row, FID 14.3 / 0.949 / 0.977 / 0.958, is the CelebA-HQ
column of Tables 1–3, so it belongs to ``celebahq_edge``). "N/A" cells are omitted. SIMS's row is the reported one
only, as in the paper. Row labels are the harness's method names (``pix2pixhd``, ``spade_vae``, ``munit``,
``egscit``, ``cocosnet``; ``sims`` has no implementation here); the ablation rows are named ``cocosnet_no_<loss>``.
The paper's SPADE is ``spade_vae``: "These methods except Pix2pixHD can generate exemplar-based results, and we use
their released codes in this mode" (§4 Baselines), i.e. SPADE with its image encoder fed the exemplar.
The paper's "CelebA-HQ" column is edge → face (§4 Datasets: "We perform an edge-to-face translation").
"""

from __future__ import annotations

from core.columns import TRANSLATION_OF
from protocols.base import ReportedRow

TABLE = "CoCosNet (CVPR 2020) Table {}"
COLUMNS = ("ade20k", "ade20k_outdoor", "celebahq_edge", "deepfashion")  # the paper's column order

# method: per protocol (FID, SWD)
_TABLE1 = {
    "pix2pixhd": ((81.8, 35.7), (97.8, 34.5), (62.7, 43.3), (25.2, 16.4)),
    "spade_vae": ((33.9, 19.7), (63.3, 21.9), (31.5, 26.9), (36.2, 27.8)),
    "munit": ((129.3, 97.8), (168.2, 126.3), (56.8, 40.8), (74.0, 46.2)),
    "sims": (None, (67.7, 27.2), None, None),
    "egscit": ((168.3, 94.4), (210.0, 104.9), (29.5, 23.8), (29.0, 39.1)),
    "cocosnet": ((26.4, 10.5), (42.4, 11.5), (14.3, 15.2), (14.4, 17.2)),
}
# method: semantic consistency per protocol
_TABLE2 = {
    "pix2pixhd": (0.833, 0.848, 0.914, 0.943),
    "spade_vae": (0.856, 0.867, 0.922, 0.936),
    "munit": (0.723, 0.704, 0.848, 0.910),
    "sims": (None, 0.822, None, None),
    "egscit": (0.734, 0.723, 0.915, 0.942),
    "cocosnet": (0.862, 0.873, 0.949, 0.968),
}
# method: (colour, texture) for ade20k, celebahq_edge, deepfashion
_TABLE3 = {
    "spade_vae": ((0.874, 0.892), (0.955, 0.927), (0.943, 0.904)),
    "munit": ((0.745, 0.782), (0.939, 0.884), (0.893, 0.861)),
    "egscit": ((0.781, 0.839), (0.965, 0.942), (0.945, 0.916)),
    "cocosnet": ((0.962, 0.941), (0.977, 0.958), (0.982, 0.958)),
}
TABLE3_COLUMNS = ("ade20k", "celebahq_edge", "deepfashion")
# variant: (FID, semantic consistency, colour, texture), CelebA-HQ (edge)
_TABLE4 = {
    "cocosnet_no_feat": (14.4, 0.948, 0.975, 0.955),
    "cocosnet_no_domain": (21.1, 0.933, 0.983, 0.957),
    "cocosnet_no_perc": (59.3, 0.852, 0.971, 0.852),
    "cocosnet_no_context": (28.4, 0.931, 0.954, 0.948),
    "cocosnet_no_reg": (19.3, 0.929, 0.981, 0.951),
    "cocosnet": (14.3, 0.949, 0.977, 0.958),
}
STYLE = ("style_relevance_colour", "style_relevance_texture")


def reported_rows(protocol: str, caveat: str = "") -> list[ReportedRow]:
    """The rows of Tables 1–4 for ``protocol`` (one of ``COLUMNS``); ``caveat`` joins each row's source."""
    suffix, t = (f"; {caveat}" if caveat else ""), TRANSLATION_OF["AB"]
    col = COLUMNS.index(protocol)

    def row(method: str, metric: str, value: float, table: int) -> ReportedRow:
        return ReportedRow(method, metric, t, value, None, f"reported: {TABLE.format(table)}{suffix}")

    rows = []
    for method, cells in _TABLE1.items():
        if cells[col] is not None:
            rows += [row(method, "fid", cells[col][0], 1), row(method, "swd", cells[col][1], 1)]
    for method, values in _TABLE2.items():
        if values[col] is not None:
            rows.append(row(method, "semantic_consistency", values[col], 2))
    if protocol in TABLE3_COLUMNS:
        for method, pairs in _TABLE3.items():
            rows += [row(method, m, v, 3) for m, v in zip(STYLE, pairs[TABLE3_COLUMNS.index(protocol)], strict=True)]
    if protocol == "celebahq_edge":
        for method, (fid, sc, colour, texture) in _TABLE4.items():
            if method == "cocosnet":
                continue  # the Full row repeats Tables 1–3's CelebA-HQ numbers, already listed
            rows += [row(method, "fid", fid, 4), row(method, "semantic_consistency", sc, 4),
                     row(method, STYLE[0], colour, 4), row(method, STYLE[1], texture, 4)]
    return rows
