"""The user-study ranking page of SIA Table 1 (``python -m bench study``): read the study folder, shuffle the outputs
per case, write one self-contained HTML file.

Protocol (Semantic Image Analogy, §4.2.1): per case the rater sees the source image (and the target layout) and the
methods' outputs "in random order", and ranks them by appearance similarity to the source; the table reports each
method's average rank over all cases and raters (lower is better).

Layout read (issue-16 contract §4)::

    <study>/<case id>/source.png           the source image (required)
    <study>/<case id>/target_layout.png    the colourised target layout (optional)
    <study>/<case id>/<method label>.png   one output per method; every case must have the same methods

On the page the outputs carry anonymous labels A, B, C...; which method is behind which label is stored in the page
as an obfuscated blob (see :func:`encode_key`) that ``bench report study=... study_page=...`` decodes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import random
import string
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import BenchError

SOURCE, TARGET = "source.png", "target_layout.png"
FORMAT = "bench-study/1"
ANSWERS_FORMAT = "bench-study-answers/1"
KEY_MARK = "bench-study-key"  # id of the <script type="application/json"> holding the page data


class StudyError(BenchError):
    """A study folder, page or answers file that cannot be used."""


@dataclass
class StudyCase:
    """One case of the study: image paths, and (after :func:`shuffle`) the anonymous label order."""

    case: str
    source: Path
    target: Path | None
    outputs: dict[str, Path]                         # method label → output image
    labels: dict[str, str] = field(default_factory=dict)  # anonymous label (A, B, ...) → method label


def read_study(folder: Path) -> list[StudyCase]:
    """The cases of a study folder in the layout above, sorted by case id.

    Raises ``StudyError`` when the folder is missing or empty, a case lacks ``source.png``, a case has fewer than two
    outputs, or the cases do not all have the same methods (their ranks would not be comparable).
    """
    folder = Path(folder)
    hint_layout = "lay it out as <study>/<case>/source.png, <case>/<method>.png (optional <case>/target_layout.png)"
    if not folder.is_dir():
        raise StudyError(f"study folder {folder} does not exist", hint=hint_layout)
    cases = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        source = sub / SOURCE
        if not source.is_file():
            raise StudyError(f"case {sub.name}: {source} is missing", hint=f"add the source image, or remove {sub}")
        target = sub / TARGET
        outputs = {p.stem: p for p in sorted(sub.glob("*.png")) if p.name not in {SOURCE, TARGET}}
        if len(outputs) < 2:
            raise StudyError(f"case {sub.name}: {len(outputs)} method output(s) in {sub}; a ranking needs at least 2",
                             hint="add <method>.png files beside source.png")
        cases.append(StudyCase(sub.name, source, target if target.is_file() else None, outputs))
    if not cases:
        raise StudyError(f"no case folders in {folder}", hint=hint_layout)
    methods = set(cases[0].outputs)
    for case in cases[1:]:
        if set(case.outputs) != methods:
            missing = sorted(methods ^ set(case.outputs))
            raise StudyError(f"case {case.case} differs from case {cases[0].case} in method(s) {missing}",
                             hint="every case needs one <method>.png per method; remove the odd case or add them")
    return cases


def shuffle(cases: list[StudyCase], seed: int) -> None:
    """Assign labels A, B, C... to each case's methods in an order drawn from (seed, case id): reproducible, and
    different between cases (a method is not always behind the same letter)."""
    for case in cases:
        methods = sorted(case.outputs)
        random.Random(f"{seed}:{case.case}").shuffle(methods)  # str seeds are hashed with SHA-512: stable
        letters = _letters(len(methods))
        case.labels = dict(zip(letters, methods, strict=True))


def _letters(n: int) -> list[str]:
    alphabet = string.ascii_uppercase
    return [alphabet[i] if i < 26 else alphabet[i // 26 - 1] + alphabet[i % 26] for i in range(n)]


def study_id(cases: list[StudyCase], seed: int) -> str:
    """12 hex digits from the seed, the case ids, the methods and every image's bytes: the same study → the same id."""
    digest = hashlib.sha256(f"{FORMAT}:{seed}".encode())
    for case in cases:
        digest.update(case.case.encode())
        for name, path in [("source", case.source), ("target", case.target), *sorted(case.outputs.items())]:
            digest.update(name.encode())
            digest.update(path.read_bytes() if path else b"-")
    return digest.hexdigest()[:12]


def _pad(sid: str, n: int) -> bytes:
    block = hashlib.sha256(f"{KEY_MARK}:{sid}".encode()).digest()
    return (block * (n // len(block) + 1))[:n]


def encode_key(sid: str, mapping: dict[str, dict[str, str]]) -> str:
    """{case: {label: method}} → base64 of the JSON XOR-ed with a pad derived from the study id. Not a secret (anyone
    with the page and this code can decode it), only keeps method names off the screen and out of a casual look at
    the page source."""
    raw = json.dumps(mapping, sort_keys=True).encode()
    return base64.b64encode(bytes(a ^ b for a, b in zip(raw, _pad(sid, len(raw)), strict=True))).decode()


def decode_key(sid: str, blob: str) -> dict[str, dict[str, str]]:
    raw = base64.b64decode(blob)
    return json.loads(bytes(a ^ b for a, b in zip(raw, _pad(sid, len(raw)), strict=True)))


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def page_data(cases: list[StudyCase], seed: int, title: str, raters_hint: str | None) -> dict:
    """What the page script reads: study id, cases with embedded images, and the obfuscated label → method key."""
    sid = study_id(cases, seed)
    return {
        "format": FORMAT, "study_id": sid, "title": title, "raters_hint": raters_hint or "",
        "answers_format": ANSWERS_FORMAT,
        "cases": [{"id": c.case, "source": _data_uri(c.source),
                   "target": _data_uri(c.target) if c.target else None,
                   "outputs": [{"label": label, "image": _data_uri(c.outputs[method])}
                               for label, method in c.labels.items()]} for c in cases],
        "key": encode_key(sid, {c.case: c.labels for c in cases}),
    }


def write_page(folder: Path, out: Path, seed: int = 0, raters_hint: str | None = None,
               title: str = "Appearance-similarity study") -> dict:
    """Read ``folder`` (layout above), shuffle with ``seed``, write the self-contained page to ``out``.

    Returns the page data (``study_id``, ``cases`` ...). Raises ``StudyError`` for a bad folder or ``out`` name.
    """
    from bench.report.study_template import TEMPLATE

    out = Path(out)
    if out.suffix.lower() not in {".html", ".htm"}:
        raise StudyError(f"out={out} must name an .html file", hint="e.g. out=study/ranking.html")
    cases = read_study(folder)
    shuffle(cases, seed)
    data = page_data(cases, seed, title, raters_hint)
    blob = json.dumps(data).replace("</", "<\\/")  # a JSON string cannot end the <script> element
    text = (TEMPLATE.replace("__TITLE__", html.escape(title))
            .replace("__DATA__", f'<script type="application/json" id="{KEY_MARK}">{blob}</script>'))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return data


def read_page(page: Path) -> dict:
    """The page data embedded by :func:`write_page`, with ``mapping`` {case: {label: method}} decoded."""
    page = Path(page)
    hint = "give study_page= the .html file `python -m bench study` wrote for these answers"
    if not page.is_file():
        raise StudyError(f"study page {page} does not exist", hint=hint)
    text = page.read_text(encoding="utf-8")
    start_tag = f'<script type="application/json" id="{KEY_MARK}">'
    start = text.find(start_tag)
    end = text.find("</script>", start)
    if start < 0 or end < 0:
        raise StudyError(f"{page} is not a study page (no embedded study data)", hint=hint)
    data = json.loads(text[start + len(start_tag):end])  # "<\/" is JSON for "</"
    if data.get("format") != FORMAT:
        raise StudyError(f"{page}: study page format {data.get('format')!r}, expected {FORMAT!r}", hint=hint)
    data["mapping"] = decode_key(data["study_id"], data["key"])
    return data
