"""Contact sheets of label-map sources (``bench data show``): items, label maps with a legend, inputs, and for a
procedural world the exact ground-truth matrix of inputs × exemplars.

Everything is drawn with Pillow on uint8 tiles; the font is matplotlib's DejaVu Sans (it has ×, →).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.errors import DataError

GAP, LINE, LABEL_W, MATRIX = 4, 14, 118, 4
# How a conditioning input is previewed: its first N channels (3 = an RGB drawing; 1 = a grey map).
PREVIEW_CHANNELS = {"pose": 3}  # CoCosNet's pose input starts with the RGB skeleton drawing


def font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 11)
    except (ImportError, OSError, ValueError):
        return ImageFont.load_default()


def wrap(text: str, width: int, face) -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` pixels in ``face``."""
    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}".strip()
        if line and face.getlength(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line]


def tile(image: np.ndarray, size: int) -> np.ndarray:
    """Letterbox ``image`` (uint8 [H,W,3]) into a white size×size tile (nearest: label drawings stay crisp)."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    resized = np.asarray(Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                        Image.NEAREST))
    out = np.full((size, size, 3), 255, np.uint8)
    y, x = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    out[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return out


def keypoint_drawing(item) -> np.ndarray | None:
    """The item's image, faded, with its keypoints (confidence > 0) as red dots; ``None`` without keypoints."""
    if item.keypoints is None:
        return None
    canvas = Image.fromarray(item.image // 3 + 170)
    draw = ImageDraw.Draw(canvas)
    r = max(2, item.image.shape[0] // 80)
    for x, y, conf in item.keypoints:
        if conf > 0:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(220, 30, 30))
    return np.asarray(canvas)


def is_input(value: object) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 3 and value.dtype.kind == "f"


def preview(channels: np.ndarray, n: int) -> np.ndarray:
    """uint8 [H,W,3] of a float [C,H,W] input in [0,1]: its first 3 channels as RGB, or channel 0 in grey."""
    shown = channels[:3] if n == 3 else np.repeat(channels[:1], 3, 0)
    return np.clip(np.round(shown.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)


def grid(rows: list[list[np.ndarray | None]], captions: list[str], size: int, title: str,
         min_width: int = 0) -> Image.Image:
    """Rows of tiles with a caption left of each row, under a (wrapped) title."""
    face = font()
    width = max(LABEL_W + max(len(r) for r in rows) * (size + GAP), min_width, 480)
    head = wrap(title, width - 8, face)
    top = LINE * len(head) + 6
    sheet = Image.new("RGB", (width, top + len(rows) * (size + GAP)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, line in enumerate(head):
        draw.text((4, 2 + LINE * i), line, fill=(0, 0, 0), font=face)
    for r, (row, caption) in enumerate(zip(rows, captions, strict=True)):
        y = top + r * (size + GAP)
        for j, line in enumerate(wrap(caption, LABEL_W - 8, face)):
            draw.text((4, y + size // 2 - 8 + LINE * j), line, fill=(0, 0, 0), font=face)
        for c, image in enumerate(row):
            if image is not None:
                x = LABEL_W + c * (size + GAP)
                sheet.paste(Image.fromarray(tile(image, size)), (x, y))
                draw.rectangle((x - 1, y - 1, x + size, y + size), outline=(200, 200, 200))
    return sheet


def legend(labels, ids: list[int], width: int) -> Image.Image:
    """Swatches and names of the class ``ids`` in ``labels``' palette, wrapped to ``width``."""
    face = font()
    entries = [(labels.palette[i], f"{i} {labels.classes[i]}") for i in ids]
    cells, x, y = [], 4, 0
    for colour, text in entries:
        w = 16 + int(face.getlength(text)) + 12
        if x + w > width and x > 4:
            x, y = 4, y + LINE + 2
        cells.append((x, y, colour, text))
        x += w
    sheet = Image.new("RGB", (width, y + LINE + 6), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for x, y, colour, text in cells:
        draw.rectangle((x, y + 2, x + 11, y + 12), fill=tuple(int(c) for c in colour), outline=(120, 120, 120))
        draw.text((x + 15, y), text, fill=(0, 0, 0), font=face)
    return sheet


def stack(sheets: list[Image.Image]) -> Image.Image:
    width = max(s.width for s in sheets)
    out = Image.new("RGB", (width, sum(s.height for s in sheets) + GAP * 3 * len(sheets)), (255, 255, 255))
    y = 0
    for s in sheets:
        out.paste(s, (0, y))
        y += s.height + GAP * 3
    return out


def _dim_invisible(image: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Grey out (65 % toward mid-grey) the pixels whose class the exemplar does not show."""
    out = image.astype(np.float32)
    out[~visible] = 0.35 * out[~visible] + 0.65 * 160
    return out.astype(np.uint8)


def contact_sheet(split, n: int, size: int = 128, exemplars=None) -> Image.Image:
    """The contact sheet of the first ``n`` items of a ``LabelledSource``; for a world (``WorldSplit``) also the
    exact ground truth of its first ``MATRIX`` inputs under its first ``MATRIX`` exemplars (from ``exemplars``, another
    split of the world, if given), with the pixels whose class the exemplar does not show greyed out.

    Raises ``DataError`` when the split has no items.
    """
    from datasets.worlds.base import WorldSplit

    items = [split.item(i) for i in range(min(n, len(split)))]
    if not items:
        raise DataError(f"{split.name} {split.split} has no items to show")
    labelled = any((it.label != split.labels.ignore).any() for it in items)
    rows = [[it.image for it in items], [split.labels.colourise(it.label) for it in items]]
    captions = ["image", "label map" if labelled else "label map (none: all pixels ignore)"]
    if any(it.edges is not None for it in items):
        rows.append([it.edges for it in items])
        captions.append("edges (input)")
    if any(it.keypoints is not None for it in items):
        rows.append([keypoint_drawing(it) for it in items])
        captions.append("keypoints")
    for key in sorted({k for it in items for k, v in it.extra.items() if is_input(v)}):
        shown = PREVIEW_CHANNELS.get(key, 1)
        total = next(it.extra[key].shape[0] for it in items if key in it.extra)
        rows.append([preview(it.extra[key], shown) if key in it.extra else None for it in items])
        captions.append(f"{key} (input, channel{'s 0-2' if shown == 3 else ' 0'} of {total})")
    sheets = [grid(rows, captions, size, split.description())]
    ids = sorted({int(i) for it in items for i in np.unique(it.label) if i < len(split.labels)})
    if ids:
        sheets.append(legend(split.labels, ids, sheets[0].width))
    if isinstance(split, WorldSplit):
        m = min(MATRIX, len(items))
        styles = exemplars or split
        matrix: list[list[np.ndarray | None]] = [[None] + [styles.item(k).image for k in range(m)]]
        for i in range(m):
            matrix.append([rows[1][i]] + [_dim_invisible(split.exact_translation(i, k, exemplars),
                                                         split.visible_mask(i, k, exemplars)) for k in range(m)])
        where = f" Exemplars: {exemplars.description()}." if exemplars else ""
        sheets.append(grid(matrix, ["exemplar k →"] + [f"input {i} (labels)" for i in range(m)], size,
                           f"Exact ground truth: input i (row) in the style of exemplar k (column) = "
                           f"render(layout_i, style_k); greyed: classes exemplar k does not show.{where}",
                           min_width=sheets[0].width))
    return stack(sheets)
