"""Numbers published in MSCA (Zheng et al., ECCV 2020), copied from ``../shared/papers/msca.txt`` §4.

- Table 1: PSNR / LPIPS / FID / L_style per task (retrieving, mirroring, duplicating) for cI2I, EGSC-IT,
  SPADE-VAE, "ours GAP", "ours MSCA w/o att", "ours MSCA w/o fm", "ours MSCA w/o global", "ours full", named here by
  the harness's methods: ``ci2i``, ``egscit``, ``spade_vae``, ``msca_gap``, ``msca_no_att``, ``msca_no_fm``,
  ``msca_no_global``, ``msca``. (Table 1's header cites EGSC-IT as [42], which is SCGAN in the reference list; the
  text cites it as [33]: the method is EGSC-IT.)
- The user study: the share of subjects' choices per method (SPADE_VAE 15.6 %, ours GAP 29.3 %, ours full 55.0 %),
  its own column ``user_preference`` in percent. The table's caption numbers it **Table 2**; the text refers to it as
  "Table 4" (and the issue followed the text). Its exemplars were drawn from the top-20-percentile of the label
  histogram intersection, not the retrieving task's top-1, so it belongs to no task column.
"""

from __future__ import annotations

from protocols.base import ReportedRow

TABLE1 = "MSCA (ECCV 2020) Table 1"
USER_STUDY = "MSCA (ECCV 2020) Table 2 (user study; the text calls it Table 4)"
METHODS = ("ci2i", "egscit", "spade_vae", "msca_gap", "msca_no_att", "msca_no_fm", "msca_no_global", "msca")
METRICS = ("psnr", "lpips", "fid", "style_loss")

# task: metric: one value per METHODS entry
_TABLE1: dict[str, dict[str, tuple[float, ...]]] = {
    "retrieving": {
        "psnr": (9.50, 12.57, 15.77, 15.85, 11.96, 16.24, 15.98, 16.65),
        "lpips": (0.757, 0.581, 0.483, 0.457, 0.522, 0.451, 0.446, 0.437),
        "fid": (228.63, 163.23, 102.68, 101.74, 112.83, 100.01, 96.66, 91.91),
        "style_loss": (3.53e-3, 1.69e-3, 1.07e-3, 6.40e-4, 7.10e-3, 7.62e-4, 7.21e-4, 5.34e-4),
    },
    "mirroring": {
        "psnr": (9.46, 12.44, 15.37, 15.80, 11.95, 16.02, 16.58, 17.03),
        "lpips": (0.759, 0.602, 0.477, 0.438, 0.510, 0.437, 0.421, 0.397),
        "fid": (242.73, 190.01, 90.99, 89.15, 102.41, 90.52, 85.92, 76.75),
        "style_loss": (4.14e-3, 2.03e-3, 1.67e-3, 7.45e-4, 7.99e-3, 8.76e-4, 6.69e-4, 3.96e-4),
    },
    "duplicating": {
        "psnr": (9.46, 12.45, 15.43, 15.80, 11.94, 16.02, 16.62, 17.03),
        "lpips": (0.759, 0.602, 0.476, 0.438, 0.510, 0.438, 0.421, 0.397),
        "fid": (242.81, 190.02, 90.97, 89.22, 103.23, 90.56, 86.20, 76.64),
        "style_loss": (4.15e-3, 2.03e-3, 1.66e-3, 7.41e-4, 7.94e-3, 8.81e-4, 6.53e-4, 3.97e-4),
    },
}
_USER_STUDY = {"spade_vae": 15.6, "msca_gap": 29.3, "msca": 55.0}  # percent of choices


def reported_rows(caveat: str = "") -> list[ReportedRow]:
    """Table 1 (one row per method × metric × task; the task is the row's translation) and the user study
    (metric ``user_preference``, no task); ``caveat`` joins each row's source."""
    suffix = f"; {caveat}" if caveat else ""
    rows = [ReportedRow(method, metric, task, values[i], None, f"reported: {TABLE1}{suffix}")
            for task, metrics in _TABLE1.items() for metric, values in metrics.items()
            for i, method in enumerate(METHODS)]
    rows += [ReportedRow(method, "user_preference", "", share, None, f"reported: {USER_STUDY}{suffix}")
             for method, share in _USER_STUDY.items()]
    return rows
