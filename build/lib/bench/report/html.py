"""``index.html``: one page that shows and links every table and figure of the report."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from bench.report.tables import TABLE_CSS, Table

# Flags images that failed to load (moved report, missing artifact) instead of leaving silent blank boxes; the
# browser test reads the same attributes.
IMAGE_CHECK = """
<script>
window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0));
  document.body.dataset.imagesTotal = document.images.length;
  document.body.dataset.imagesBroken = broken.length;
  if (broken.length) {
    const box = document.getElementById('broken-images');
    box.hidden = false;
    box.textContent = broken.length + ' image(s) failed to load: ' + broken.map(i => i.getAttribute('src')).join(', ');
  }
});
</script>
"""


@dataclass
class Section:
    title: str
    anchor: str
    parts: list[str] = field(default_factory=list)

    def text(self, text: str, cls: str = "") -> None:
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{html.escape(text)}</p>")

    def heading(self, text: str, anchor: str = "") -> None:
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.parts.append(f"<h3{ident}>{html.escape(text)}</h3>")

    def table(self, table: Table, files: dict[str, Path], root: Path) -> None:
        self.parts.append(table.to_html(table_id=table.slug))
        self.links(files, root)

    def links(self, files: dict[str, Path], root: Path) -> None:
        items = " · ".join(f'<a href="{html.escape(_rel(p, root))}">{html.escape(k)}</a>' for k, p in files.items())
        if items:
            self.parts.append(f'<p class="links">{items}</p>')

    def figure(self, path: Path | None, root: Path, alt: str) -> None:
        if path is not None:
            rel = html.escape(_rel(path, root))
            self.parts.append(f'<a href="{rel}"><img class="figure" src="{rel}" alt="{html.escape(alt)}"></a>')

    def raw(self, markup: str) -> None:
        self.parts.append(markup)


def _rel(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def render_index(title: str, header: list[str], sections: list[Section], path: Path) -> Path:
    toc = "".join(f'<li><a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a></li>' for s in sections)
    body = "".join(f'<section id="{html.escape(s.anchor)}"><h2>{html.escape(s.title)}</h2>{"".join(s.parts)}</section>'
                   for s in sections)
    head = "".join(f"<li>{html.escape(line)}</li>" for line in header)
    legend = ('<p class="legend">Marks: <span class="badge smoke">smoke scale</span> seconds-long training for '
              'tests, not comparable to papers · <span class="badge reduced">reduced scale</span> shortened '
              'training · <span class="badge uncalibrated">uncalibrated</span> a metric ran without its published '
              'weights (not that metric) · <span class="badge reported">reported</span> a number copied from a '
              'paper, under its own setting · <span class="badge variant">variant</span> an ablation of a '
              'full method.</p>')
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{TABLE_CSS}</style></head><body><h1>{html.escape(title)}</h1><ul>{head}</ul>{legend}"
            f'<p id="broken-images" class="warn" hidden></p><nav><ol>{toc}</ol></nav>{body}{IMAGE_CHECK}'
            "</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
