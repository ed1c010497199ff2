"""``python -m bench data``: the label-map data sources (procedural worlds and real datasets), what is on disk, and
contact sheets to look at what a protocol will see.

    python -m bench data list
    python -m bench data show source=scenes                       # → data-scenes-train.png
    python -m bench data show source=streets world.domain=photo size=256 n=8 out=streets.png
    python -m bench data show source=streets exemplar.domain=photo  # synthetic inputs, photo exemplars
    python -m bench data show source=ade20k root=../shared/data/cocosnet_samples/ade20k split=val
    python -m bench data prepare source=scenes n=10000 size=256 workers=2   # render a world split into the cache

Keys (``key=value``):
  source=NAME      a world (``scenes``, ``streets``, ``faces``, ``figures``) or a real dataset (``bench data list``)
  split=NAME       train (default) / val / ...
  n=N              items on the sheet (default 6) or in the prepared split
  size=S           world render size in pixels, S or [H,W] (default 128; real images keep theirs)
  seed=N           world seed (default 0)
  root=DIR         where the real dataset is (default ``$BENCH_DATA/<name>``)
  out=FILE         the PNG (default ``data-<source>-<split>.png``)
  workers=N        ``prepare``: render shards in N processes (default 1)
  exemplar.<k>=v   a world's exemplars from the same world with this setting changed, e.g. GTA5-like inputs under
                   BDD100K-like exemplars: ``source=streets exemplar.domain=photo``
  world.<k>=v      a world setting (e.g. ``world.domain=photo``); ``reader.<k>=v`` a reader setting
                   (e.g. ``reader.subset=msca_outdoor``)

The sheet shows, per item: the image, its label map in the source's palette and the edge / keypoint input; for a
world it adds the exact ground truth: the first inputs (rows, as label maps) rendered in the style of the first
exemplars (columns), the answer a perfect exemplar-guided method would give.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.errors import BenchError, DataError

SUMMARY = "list the data sources (worlds, real datasets on disk) and render contact sheets of them"
KEYS = {"source", "split", "n", "size", "seed", "root", "out", "world", "reader", "workers", "exemplar"}
GAP, CAPTION = 4, 14
# How a conditioning input is previewed: its first N channels (3 = an RGB drawing; 1 = a grey map).
PREVIEW_CHANNELS = {"pose": 3}  # CoCosNet's pose input starts with the RGB skeleton drawing


def _parse(argv: list[str]) -> dict[str, Any]:
    from bench.commands.score import parse_args

    cfg = parse_args(argv)
    unknown = sorted(set(cfg) - KEYS)
    if unknown:
        raise BenchError(f"unknown key(s) {unknown} for `bench data`", hint=f"valid keys: {', '.join(sorted(KEYS))}")
    return cfg


def sources_frame():
    """One row per data source: name, kind, what it stands in for / where it is, whether it is present."""
    import pandas as pd

    from datasets.real import REAL_DATASETS
    from datasets.worlds import WORLDS

    def first_line(text: str | None, limit: int = 72) -> str:
        line = (text or "").strip().splitlines()[0].replace("``", "") if (text or "").strip() else ""
        return line if len(line) <= limit else line[: limit - 1] + "…"

    rows = []
    for name, world in WORLDS.items():
        rows.append({"source": name, "kind": "procedural", "classes": len(world.labels),
                     "about": f"stand-in for {world.stands_in_for}" if world.stands_in_for else first_line(
                         world.__doc__), "present": "always (rendered)"})
    for name, cls in REAL_DATASETS.items():
        reader = cls()
        rows.append({"source": name, "kind": "real", "classes": len(cls.labels), "about": first_line(cls.__doc__),
                     "present": f"{'yes' if reader.present() else 'no'} ({reader.root})"})
    return pd.DataFrame(rows)


def _tile(image: np.ndarray, size: int) -> np.ndarray:
    """Letterbox ``image`` (uint8 [H,W,3]) into a white size×size tile (nearest for label drawings)."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    resized = np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                        Image.NEAREST))
    out = np.full((size, size, 3), 255, np.uint8)
    y, x = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    out[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return out


def _keypoint_drawing(item, shape: tuple[int, int]) -> np.ndarray | None:
    if item.keypoints is None:
        return None
    canvas = Image.fromarray(item.image // 3 + 170)
    draw = ImageDraw.Draw(canvas)
    for x, y, conf in item.keypoints:
        if conf > 0:
            r = max(2, shape[0] // 80)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(220, 30, 30))
    return np.asarray(canvas)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """matplotlib's DejaVu Sans (it has ×, →), else PIL's bitmap default."""
    try:
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 11)
    except (ImportError, OSError, ValueError):
        return ImageFont.load_default()


def _is_input(value: object) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 3 and value.dtype.kind == "f"


def _preview(channels: np.ndarray, n: int) -> np.ndarray:
    """uint8 [H,W,3] of a float [C,H,W] input in [0,1]: its first 3 channels as RGB, or channel 0 in grey."""
    shown = channels[:3] if n == 3 else np.repeat(channels[:1], 3, 0)
    return np.clip(np.round(shown.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)


def _grid(rows: list[list[np.ndarray | None]], captions: list[str], tile: int, title: str) -> Image.Image:
    """Rows of tiles with a caption at the left of each row and a title line."""
    label_w = 110
    font = _font()
    width = max(label_w + max(len(r) for r in rows) * (tile + GAP), int(font.getlength(title)) + 8)
    height = CAPTION + 6 + len(rows) * (tile + GAP)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 2), title, fill=(0, 0, 0), font=font)
    for r, (row, caption) in enumerate(zip(rows, captions, strict=True)):
        y = CAPTION + 6 + r * (tile + GAP)
        draw.text((4, y + tile // 2 - 6), caption, fill=(0, 0, 0), font=font)
        for c, image in enumerate(row):
            if image is not None:
                x = label_w + c * (tile + GAP)
                sheet.paste(Image.fromarray(_tile(image, tile)), (x, y))
                draw.rectangle((x - 1, y - 1, x + tile, y + tile), outline=(200, 200, 200))
    return sheet


def contact_sheet(split, n: int, tile: int = 128, exemplars=None) -> Image.Image:
    """The contact sheet of the first ``n`` items of a ``LabelledSource`` (see the module docstring); for a world,
    ``exemplars`` (another split of it, e.g. the other street domain) supplies the ground-truth matrix's styles."""
    from datasets.worlds.base import WorldSplit

    items = [split.item(i) for i in range(min(n, len(split)))]
    if not items:
        raise DataError(f"{split.name} {split.split} has no items to show")
    rows = [[it.image for it in items], [split.labels.colourise(it.label) for it in items]]
    captions = ["image", "label map"]
    if any(it.edges is not None for it in items):
        rows.append([it.edges for it in items])
        captions.append("edges (input)")
    if any(it.keypoints is not None for it in items):
        rows.append([_keypoint_drawing(it, it.image.shape[:2]) for it in items])
        captions.append("keypoints")
    for key in sorted({k for it in items for k, v in it.extra.items() if _is_input(v)}):
        rows.append([_preview(it.extra[key], PREVIEW_CHANNELS.get(key, 1)) if key in it.extra else None
                     for it in items])
        captions.append(f"{key} (input)")
    sheets = [_grid(rows, captions, tile, split.description())]
    if isinstance(split, WorldSplit):
        m = min(4, len(items))
        styles = exemplars or split
        matrix: list[list[np.ndarray | None]] = [[None] + [styles.item(k).image for k in range(m)]]
        for i in range(m):
            matrix.append([rows[1][i]] + [split.exact_translation(i, k, exemplars) for k in range(m)])
        sheets.append(_grid(matrix, ["exemplar k →"] + [f"input {i} (labels)" for i in range(m)], tile,
                            "exact ground truth: input i (row) in the style of exemplar k (column) = "
                            "render(layout_i, style_k)" + (f"; exemplars: {exemplars.description()}" if exemplars
                                                           else "")))
    width = max(s.width for s in sheets)
    out = Image.new("RGB", (width, sum(s.height for s in sheets) + GAP * 3), (255, 255, 255))
    y = 0
    for s in sheets:
        out.paste(s, (0, y))
        y += s.height + GAP * 3
    return out


def _open_split(cfg: dict[str, Any], n: int, cache: bool = False):
    from datasets.real import REAL_DATASETS
    from datasets.worlds import WORLDS, load_world

    source = cfg.get("source")
    if not source:
        raise BenchError("`bench data show` needs source=NAME", hint="`python -m bench data list` shows the sources")
    split = str(cfg.get("split", "train"))
    if source in WORLDS:
        size = cfg.get("size", 128)
        size = tuple(size) if isinstance(size, list) else int(size)
        data = load_world(source, n_train=n, n_val=n, size=size, seed=int(cfg.get("seed", 0)), cache=cache,
                          with_inputs=not cache, **dict(cfg.get("world") or {}))
        if split not in data.splits:
            raise BenchError(f"world {source} has no split {split!r}", hint=f"use one of {list(data.splits)}")
        return data.splits[split]
    if source in REAL_DATASETS:
        reader = REAL_DATASETS.get(source)(cfg.get("root"), **dict(cfg.get("reader") or {}))
        return reader.make_split(split)
    known = [*WORLDS.names(), *REAL_DATASETS.names()]
    raise BenchError(f"unknown data source {source!r}", hint=f"use one of {', '.join(known)}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    action, cfg = argv[0], _parse(argv[1:])
    if action == "list":
        from tabulate import tabulate

        print(tabulate(sources_frame(), headers="keys", tablefmt="github", showindex=False))
        print("\nroot=DIR points a reader elsewhere (`bench data show source=NAME root=DIR`); "
              "`python -m bench data show --help` explains the rest. How to obtain a real dataset: its error message "
              "when absent, or its reader's `obtain` text.")
        return 0
    if action == "show":
        split = _open_split(cfg, int(cfg.get("n", 6)))
        out = Path(cfg.get("out") or f"data-{cfg['source']}-{split.split}.png")
        out.parent.mkdir(parents=True, exist_ok=True)
        exemplars = None
        if cfg.get("exemplar"):  # the same world with other settings supplies the exemplars
            exemplars = _open_split({**cfg, "world": {**(cfg.get("world") or {}), **cfg["exemplar"]}},
                                    int(cfg.get("n", 6)))
        contact_sheet(split, int(cfg.get("n", 6)), exemplars=exemplars).save(out)
        print(f"wrote {out} ({split.description()})")
        return 0
    if action == "prepare":
        split = _open_split(cfg, int(cfg.get("n", 1000)), cache=True)
        if not hasattr(split, "prepare"):
            raise BenchError(f"{cfg['source']} is real data: nothing to prepare")
        rendered = split.prepare(workers=int(cfg.get("workers", 1)))
        print(f"{split.description()}: {rendered} shard(s) rendered into {split.cache_dir}")
        return 0
    print(f"error: unknown action {action!r}; use list, show or prepare", file=sys.stderr)
    return 2
