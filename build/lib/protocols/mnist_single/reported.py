"""Numbers published in EGSC-IT (Ma et al., ICLR 2019), copied from ``../shared/papers/egsc-it.txt``.

Table 2: SSIM on MNIST-Single (A→B / B→A); Table 4: style-transfer baselines "trained using MNIST-Single data".
Row labels are the harness's method names where the method exists here.
"""

from __future__ import annotations

from core.columns import TRANSLATION_OF
from protocols.base import ReportedRow

TABLE2 = "EGSC-IT (ICLR 2019) Table 2"
TABLE4 = "EGSC-IT (ICLR 2019) Table 4"

_ROWS = [  # method, (A→B mean, std), (B→A mean, std), source
    ("cyclegan", (0.214, 0.168), (0.089, 0.166), TABLE2),
    ("unit", (0.178, 0.160), (0.074, 0.158), TABLE2),
    ("munit", (0.463, 0.094), (0.227, 0.128), TABLE2),
    ("egscit_no_feature_mask", (0.395, 0.137), (0.133, 0.171), TABLE2),
    ("egscit_no_adain", (0.208, 0.166), (0.080, 0.167), TABLE2),
    ("egscit_no_perceptual", (0.286, 0.183), (0.093, 0.169), TABLE2),
    ("egscit", (0.478, 0.090), (0.232, 0.131), TABLE2),
    ("adain", (0.282, 0.103), (0.188, 0.118), TABLE4),
    ("wct", (0.061, 0.064), (0.063, 0.084), TABLE4),
]

REPORTED = [
    ReportedRow(method, "ssim", translation, mean, std, f"reported: {source}")
    for method, ab, ba, source in _ROWS
    for translation, (mean, std) in zip(TRANSLATION_OF.values(), (ab, ba), strict=True)
]
