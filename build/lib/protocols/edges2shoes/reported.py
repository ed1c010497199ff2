"""Numbers published in SEGIN (Huang, Liao, Kwong; IEEE TMM 2020), copied from ``../shared/papers/segin.txt``.

Table I (edges→shoes | edges→bags): FID, LPIPS diversity, LPIPS(ref), LPIPS(gt); "–" cells are omitted.
Table II (ablation): FID and LPIPS(gt). Row labels are the harness's method names where the method exists here;
"MUNIT" sampled random styles (``munit_random_style``), "MUNIT+ref" used the reference (our ``munit``).
"""

from __future__ import annotations

from core.columns import TRANSLATION_OF
from protocols.base import ReportedRow

TABLE1 = "SEGIN (TMM 2020) Table I"
TABLE2 = "SEGIN (TMM 2020) Table II"

# method: {dataset: (fid, lpips_div, lpips_ref, lpips_gt)}
_TABLE1 = {
    "pix2pix_noise": {"edges2shoes": (75.442, 0.012, None, 0.188), "edges2handbags": (83.241, 0.012, None, 0.253)},
    "bicyclegan": {"edges2shoes": (62.521, 0.108, None, 0.152), "edges2handbags": (70.117, 0.162, None, 0.237)},
    "munit_random_style": {"edges2shoes": (80.857, 0.110, None, 0.164),
                           "edges2handbags": (88.641, 0.171, None, 0.239)},
    "munit": {"edges2shoes": (80.873, 0.104, 0.467, 0.164), "edges2handbags": (89.273, 0.158, 0.650, 0.239)},
    "segin": {"edges2shoes": (54.514, 0.145, 0.382, 0.112), "edges2handbags": (68.211, 0.211, 0.487, 0.158)},
    "real_data": {"edges2shoes": (None, 0.301, None, 0.000), "edges2handbags": (None, 0.423, None, 0.000)},
}
# variant: {dataset: (fid, lpips_gt)}
_TABLE2 = {
    "segin_no_gan": {"edges2shoes": (55.618, 0.112), "edges2handbags": (69.981, 0.158)},
    "segin_no_recon": {"edges2shoes": (59.162, 0.121), "edges2handbags": (78.301, 0.174)},
    "segin_no_feature": {"edges2shoes": (76.554, 0.147), "edges2handbags": (96.454, 0.211)},
    "segin_no_tv": {"edges2shoes": (58.181, 0.111), "edges2handbags": (72.538, 0.155)},
    "segin_no_nonlocal": {"edges2shoes": (72.387, 0.132), "edges2handbags": (94.113, 0.172)},
    "segin_no_multitask": {"edges2shoes": (77.211, 0.144), "edges2handbags": (98.240, 0.181)},
}


def reported_rows(dataset: str, caveat: str = "") -> list[ReportedRow]:
    """Table I and II rows for ``dataset`` (``edges2shoes`` or ``edges2handbags``); ``caveat`` joins the source."""
    suffix, edges_to_photos = (f"; {caveat}" if caveat else ""), TRANSLATION_OF["AB"]
    rows = []
    for method, per_dataset in _TABLE1.items():
        for metric, value in zip(("fid", "lpips_div", "lpips_ref", "lpips_gt"), per_dataset[dataset], strict=True):
            if value is not None:
                rows.append(ReportedRow(method, metric, edges_to_photos, value, None, f"reported: {TABLE1}{suffix}"))
    for method, per_dataset in _TABLE2.items():
        for metric, value in zip(("fid", "lpips_gt"), per_dataset[dataset], strict=True):
            rows.append(ReportedRow(method, metric, edges_to_photos, value, None, f"reported: {TABLE2}{suffix}"))
    return rows
