"""Numbers published in EGSC-IT (Ma et al., ICLR 2019), Table 5 (appendix A.1): SSIM on MNIST-Multiple.

Copied from ``../shared/papers/egsc-it.txt`` (first row A→B, second row B→A, as in Tables 2 and 4) and checked against
``../shared/reference/paper-protocols.md``. Row labels are the harness's method names.
"""

from __future__ import annotations

from core.columns import TRANSLATION_OF
from protocols.base import ReportedRow

TABLE5 = "EGSC-IT (ICLR 2019) Table 5"

_ROWS = [  # method, (A→B mean, std), (B→A mean, std)
    ("cyclegan", (0.145, 0.213), (0.130, 0.216)),
    ("unit", (0.239, 0.256), (0.234, 0.257)),
    ("munit", (0.500, 0.035), (0.501, 0.036)),
    ("egscit", (0.503, 0.035), (0.495, 0.036)),
]

REPORTED = [
    ReportedRow(method, "ssim", translation, mean, std, f"reported: {TABLE5}")
    for method, ab, ba in _ROWS
    for translation, (mean, std) in zip(TRANSLATION_OF.values(), (ab, ba), strict=True)
]
