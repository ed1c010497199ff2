"""``python -m bench study``: the user-study ranking page of SIA Table 1 (appearance similarity to the source).

    python -m bench study images=results/figures/<run>/study out=study.html [seed=0] [raters_hint="..."]

Keys (``key=value``):
  images=DIR       the study folder: <case>/source.png, optional <case>/target_layout.png, <case>/<method>.png
                   (the semantic_image_analogy protocol writes it under the run's figures folder, study/)
  out=FILE.html    the page to write (one self-contained file: images embedded, no network, no libraries)
  seed=N           the per-case shuffle of the outputs behind the labels A, B, C... (default 0)
  raters_hint=TEXT a line shown to raters at the top of the page (e.g. who to send the answers to)
  title=TEXT       the page title (default "Appearance-similarity study")

Send the page to the raters; each opens it in a browser, ranks every case and clicks "Export answers" (a JSON file).
Then: ``python -m bench report study=[a.json,b.json] study_page=study.html`` prints the average-rank table.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import BenchError

SUMMARY = "write the self-contained HTML ranking page of a user study (SIA Table 1) from a study folder"
KEYS = {"images", "out", "seed", "raters_hint", "title"}
USAGE = "e.g. `python -m bench study images=<study folder> out=study.html`; `python -m bench study --help`"


def main(argv: list[str]) -> int:
    from bench.report.study_page import write_page

    if not argv or any(a in {"-h", "--help", "help"} for a in argv):
        print(__doc__)
        return 0
    cfg = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            raise BenchError(f"`bench study` takes key=value arguments, got {arg!r}", hint=USAGE)
        if key not in KEYS:
            raise BenchError(f"unknown key {key!r} for `bench study`", hint=f"valid keys: {', '.join(sorted(KEYS))}")
        cfg[key] = value
    for key in ("images", "out"):
        if not cfg.get(key):
            raise BenchError(f"`bench study` needs {key}=", hint=USAGE)
    try:
        seed = int(cfg.get("seed", 0))
    except ValueError:
        raise BenchError(f"seed={cfg['seed']!r} must be an integer", hint="e.g. seed=0") from None
    extra = {"title": cfg["title"]} if cfg.get("title") else {}
    out = Path(cfg["out"])
    data = write_page(Path(cfg["images"]), out, seed=seed, raters_hint=cfg.get("raters_hint"), **extra)
    n_methods = len(data["cases"][0]["outputs"])
    size = out.stat().st_size / 2**20
    print(f"wrote {out} ({size:.1f} MiB): study {data['study_id']}, {len(data['cases'])} case(s) × {n_methods} "
          f"method(s), shuffle seed {seed}")
    print(f"raters export answers JSON files; then `python -m bench report study=[a.json,...] study_page={out}`")
    return 0
