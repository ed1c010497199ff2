"""``python -m bench data``: the label-map data sources (procedural worlds and real datasets), what is on disk, and
contact sheets to look at what a protocol will see.

    python -m bench data list
    python -m bench data show source=scenes                       # → data-scenes-train.png
    python -m bench data show source=streets world.domain=photo size=256 n=8 out=streets.png
    python -m bench data show source=streets exemplar.domain=photo  # synthetic inputs, photo exemplars
    python -m bench data show source=ade20k root=../shared/data/cocosnet_samples/ade20k split=val
    python -m bench data prepare source=scenes n=10000 size=256 workers=2   # render a world split into the cache
    python -m bench data download source=ade20k root=~/data/ade20k  # public datasets; others print the steps

Keys (``key=value``):
  source=NAME      a world (``scenes``, ``streets``, ``faces``, ``figures``) or a real dataset (``bench data list``)
  split=NAME       train (default) / val / ...
  n=N              items on the sheet (default 6) or in the prepared split
  size=S           world render size in pixels, S or [H,W], 32..1024 a side (default 128; real images keep theirs)
  seed=N           world seed (default 0)
  root=DIR         where the real dataset is (default ``$BENCH_DATA/<name>``)
  out=FILE.png     the sheet (default ``data-<source>[-<settings>]-<split>.png`` in the current folder)
  workers=N        ``prepare``: render shards in N processes (default 1)
  exemplar.<k>=v   a world's exemplars from the same world with this setting changed, e.g. GTA5-like inputs under
                   BDD100K-like exemplars: ``source=streets exemplar.domain=photo``
  world.<k>=v      a world setting (e.g. ``world.domain=photo``); ``reader.<k>=v`` a reader setting
                   (e.g. ``reader.subset=msca_outdoor``)

Actions take these keys: list (none), show (source split n size seed root out world reader exemplar), prepare
(source split n size seed world workers), download (source root reader).

The sheet shows, per item: the image, its label map in the source's palette (with a legend of the classes shown),
the edge map, keypoints and conditioning inputs; for a world it adds the exact ground truth: the first 4 inputs
(rows, as label maps) rendered in the style of the first 4 exemplars (columns), the answer a perfect exemplar-guided
method would give, with the pixels whose class the exemplar does not show greyed out.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from core.errors import BenchError

SUMMARY = "list the data sources (worlds, real datasets on disk), contact sheets, the world cache, downloads"
ACTIONS = {
    "list": set(),
    "show": {"source", "split", "n", "size", "seed", "root", "out", "world", "reader", "exemplar"},
    "prepare": {"source", "split", "n", "size", "seed", "world", "workers"},
    "download": {"source", "root", "reader"},
}
USAGE = "e.g. `python -m bench data show source=scenes`; `python -m bench data --help` lists the keys"


def _parse(action: str, argv: list[str]) -> dict[str, Any]:
    """key=value arguments of ``action`` → a checked config (``BenchError`` naming the problem and the fix)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise BenchError(f"`bench data {action}` takes key=value arguments, got {bad}", hint=USAGE)
    try:
        cfg = OmegaConf.to_container(OmegaConf.from_dotlist(argv), resolve=True)
    except OmegaConfBaseException as exc:
        raise BenchError(f"cannot parse arguments: {exc}", hint=USAGE) from None
    assert isinstance(cfg, dict)
    unknown = sorted(set(cfg) - ACTIONS[action])
    if unknown:
        valid = ", ".join(sorted(ACTIONS[action])) or "none"
        raise BenchError(f"unknown key(s) {unknown} for `bench data {action}`", hint=f"valid keys: {valid}")
    for key in ("world", "reader", "exemplar"):
        if key in cfg and not isinstance(cfg[key], dict):
            raise BenchError(f"{key}={cfg[key]!r} is not a setting", hint=f"write {key}.<setting>=<value>")
    for key, low in (("n", 1), ("seed", 0), ("workers", 1)):
        if key in cfg and (not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < low):
            raise BenchError(f"{key}={cfg[key]!r} must be an integer ≥ {low}")
    if "size" in cfg:
        size = cfg["size"]
        sides = size if isinstance(size, list) else [size]
        if len(sides) not in (1, 2) or not all(isinstance(v, int) and 32 <= v <= 1024 for v in sides):
            raise BenchError(f"size={size!r} must be S or [H,W] with 32..1024 pixels a side", hint="e.g. size=256 "
                             "or size=[256,512]")
    if "out" in cfg and Path(str(cfg["out"])).suffix.lower() != ".png":
        raise BenchError(f"out={cfg['out']} must name a .png file", hint="e.g. out=sheets/scenes.png")
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


def _source(cfg: dict[str, Any], action: str) -> tuple[str, bool]:
    """The source name and whether it is a world; refuses settings that belong to the other kind of source."""
    from datasets.real import REAL_DATASETS
    from datasets.worlds import WORLDS

    source = cfg.get("source")
    if not source:
        raise BenchError(f"`bench data {action}` needs source=NAME", hint="`python -m bench data list` shows them")
    if source not in WORLDS and source not in REAL_DATASETS:
        known = [*WORLDS.names(), *REAL_DATASETS.names()]
        raise BenchError(f"unknown data source {source!r}", hint=f"use one of {', '.join(known)}")
    world = source in WORLDS
    foreign = [k for k in (("root", "reader") if world else ("world", "exemplar", "size", "seed")) if k in cfg]
    if foreign:
        kind = "a procedural world" if world else "real data"
        verb = "does" if len(foreign) == 1 else "do"
        raise BenchError(f"{source} is {kind}: {', '.join(foreign)} {verb} not apply",
                         hint="worlds take world.<k>=, exemplar.<k>=, size=, seed=; real data root=, reader.<k>=")
    if world and action == "download":
        raise BenchError(f"{source} is a procedural world: nothing to download", hint="`bench data prepare` renders it")
    if not world and action == "prepare":
        raise BenchError(f"{source} is real data: nothing to prepare", hint="`bench data download` fetches it")
    return source, world


def _open_split(cfg: dict[str, Any], n: int, cache: bool = False):
    from datasets.real import REAL_DATASETS
    from datasets.worlds import load_world

    source, world = _source(cfg, "prepare" if cache else "show")
    split = str(cfg.get("split", "train"))
    if world:
        size = cfg.get("size", 128)
        if isinstance(size, list):
            size = size[0] if len(size) == 1 else tuple(size)
        data = load_world(source, n_train=n, n_val=n, size=size, seed=int(cfg.get("seed", 0)), cache=cache,
                          with_inputs=not cache, **dict(cfg.get("world") or {}))
        if split not in data.splits:
            raise BenchError(f"world {source} has no split {split!r}", hint=f"use one of {list(data.splits)}")
        return data.splits[split]
    return REAL_DATASETS.get(source)(cfg.get("root"), **dict(cfg.get("reader") or {})).make_split(split)


def _default_out(cfg: dict[str, Any], split: str) -> Path:
    settings = {**(cfg.get("world") or {}), **(cfg.get("reader") or {}),
                **{f"ex-{k}": v for k, v in (cfg.get("exemplar") or {}).items()}}
    tag = "".join(f"-{k}={v}" for k, v in sorted(settings.items()))
    return Path(f"data-{cfg['source']}{tag}-{split}.png".replace("/", "_"))


def main(argv: list[str]) -> int:
    from bench.sheets import contact_sheet

    if not argv or any(a in {"-h", "--help", "help"} for a in argv):
        print(__doc__)
        return 0
    action = argv[0]
    if action not in ACTIONS:
        print(f"error: unknown action {action!r}; use {', '.join(ACTIONS)}\n  fix: {USAGE}", file=sys.stderr)
        return 2
    cfg = _parse(action, argv[1:])
    if action == "list":
        from tabulate import tabulate

        print(tabulate(sources_frame(), headers="keys", tablefmt="github", showindex=False))
        print("\nA real reader looks in $BENCH_DATA/<name> unless given root=DIR (`bench data show source=NAME "
              "root=DIR`); `bench data download source=NAME` fetches public data or prints the steps. "
              "`python -m bench data --help` explains the rest.")
        return 0
    if action == "download":
        from datasets.real import REAL_DATASETS

        source, _ = _source(cfg, action)
        reader = REAL_DATASETS.get(source)(cfg.get("root"), **dict(cfg.get("reader") or {}))
        reader.download()
        print(f"{source}: downloaded into {reader.root}")
        return 0
    n = int(cfg.get("n", 6 if action == "show" else 1000))
    split = _open_split(cfg, n, cache=action == "prepare")
    if action == "prepare":
        rendered = split.prepare(workers=int(cfg.get("workers", 1)))
        state = f"{rendered} shard(s) rendered" if rendered else "already cached, 0 shard(s) rendered"
        print(f"{split.description()}: {state} in {split.cache_dir}")
        return 0
    out = Path(cfg.get("out") or _default_out(cfg, split.split))
    exemplars = None
    if cfg.get("exemplar"):  # the same world with other settings supplies the exemplars
        exemplars = _open_split({**cfg, "world": {**(cfg.get("world") or {}), **cfg["exemplar"]}}, n)
    sheet = contact_sheet(split, n, exemplars=exemplars)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    shown = min(n, len(split))
    print(f"wrote {out}: {shown} of {len(split)} items ({split.description()})")
    return 0
