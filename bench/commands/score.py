"""``python -m bench score``: metrics on folders of images, like the pytorch-fid / torch-fidelity command lines.

    python -m bench score metrics=[ssim,psnr,lpips] fake=outputs/ real=data/test/
    python -m bench score metrics=[fid,kid] fake=outputs/ real=data/test/ fid.dims=2048
    python -m bench score metrics=[style_relevance] fake=outputs/ exemplar=exemplars/
    python -m bench score metrics=[miou] fake=outputs/ labels=label_maps/ miou.variant=resnet50

Keys (Hydra-style ``key=value``):
  metrics=[a,b]            registered metric names (``python -m bench score --list`` shows them)
  fake=DIR                 generated images
  real=DIR                 ground truth (paired metrics, matched by file name without extension) or the real set
                           (fid, kid, swd: compared as distributions, no pairing)
  exemplar=DIR             exemplars, matched by name (style_relevance, style_loss, lpips with reference=exemplar)
  labels=DIR               label maps of class ids, matched by name (miou)
  out=FILE                 JSON results (default: score.json in the current folder)
  allow_uncalibrated=true  run networks whose pretrained weights are missing with random weights; every output is
                           then marked UNCALIBRATED (smoke tests only: such numbers are not the metric)
  device=cpu|cuda          default: CUDA when available
  batch_size=N             images per forward pass
  cache_dir=DIR            reference-feature cache (default $BENCH_CACHE or ~/.cache/bench)
  <metric>.<option>=value  metric settings, e.g. lpips.net=vgg, fid.dims=2048, ssim.window=7, swd.seed=1

Values are typed by what receives them, not by YAML: folders stay strings as written (``fake=0100`` is the folder
0100), a metric option takes the type of the metric's constructor argument (``lpips.lpips_version=0.1`` is "0.1").
Images are read by ``core.images.read_image``: 16-bit files rescaled, transparency composited on white (warned once
per folder, and listed under ``input_warnings`` in the JSON).

Each metric declares what it is computed from (``Metric.inputs``: pairs, sets, groups, images+labels) and the folders
are read accordingly (``READERS``). lpips_diversity (groups) reads ``fake`` as one sub-folder per input, holding that
input's outputs; miou (images+labels) pairs ``fake`` with ``labels`` by file name.
"""

from __future__ import annotations

import inspect
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.errors import BenchError, DataError

if TYPE_CHECKING:
    from metrics.images import ReadLog

SUMMARY = "compute metrics on folders of images (paired by file name, or as sets) and write JSON"

# The keys every run takes, typed as declared: folders are strings as written (a folder named 0100 stays "0100").
GLOBAL_KEYS: dict[str, Any] = {
    "metrics": list[str], "fake": str, "real": str, "exemplar": str, "labels": str, "out": str,
    "allow_uncalibrated": bool, "device": str, "batch_size": int, "cache_dir": str,
}
FORWARDED = ("allow_uncalibrated", "device", "batch_size", "cache_dir")  # passed to every metric that takes them
PAIR_CHUNK = 256  # pairs loaded into memory at a time


def parse_args(argv: list[str]) -> dict[str, Any]:
    """``key=value`` arguments → ``{global key: typed value, metric: {option: raw string}}``.

    Global keys are typed by ``GLOBAL_KEYS``; metric options stay strings until ``build_metrics`` types them by the
    metric's constructor (``bench.options``). Never YAML typing: ``0100`` is not 64, ``0.1`` is not a float.
    """
    from bench.options import typed

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise BenchError(f"arguments must be key=value, got {bad}", hint="e.g. metrics=[ssim,psnr] fake=DIR real=DIR")
    cfg: dict[str, Any] = {}
    for arg in argv:
        key, raw = arg.split("=", 1)
        if key in GLOBAL_KEYS:
            cfg[key] = typed(raw, GLOBAL_KEYS[key], key)
            continue
        metric, dot, option = key.partition(".")
        if not dot or not metric or not option or "." in option:
            raise BenchError(f"unknown keys [{key!r}]",
                             hint=f"valid keys: {', '.join(sorted(GLOBAL_KEYS))}, or <metric>.<option>=value")
        cfg.setdefault(metric, {})[option] = raw
    return cfg


def _options(cls: type, name: str, raw: dict[str, str]) -> dict[str, Any]:
    """``raw`` option strings typed by ``cls``'s constructor; an option it does not take is a ``BenchError``."""
    from bench.options import annotation_of, options_of, typed

    options = {}
    for key, value in raw.items():
        annotation = annotation_of(cls, key)
        if annotation is None:
            raise BenchError(f"metric {name} has no option {key!r}",
                             hint=f"options of {name}: {', '.join(options_of(cls))}")
        options[key] = typed(value, annotation, f"{name}.{key}")
    return options


def build_metrics(cfg: dict[str, Any]) -> dict[str, Any]:
    from bench.options import annotation_of
    from metrics import METRICS

    names = cfg.get("metrics")
    if not names:
        raise BenchError("no metrics given", hint=f"metrics=[ssim,psnr]; registered: {', '.join(METRICS.names())}")
    for name in names:
        METRICS.get(name)  # unknown names raise with the list of valid ones
    unknown = [k for k in cfg if k not in GLOBAL_KEYS and k not in names]
    if unknown:
        raise BenchError(f"unknown keys {unknown}",
                         hint=f"valid keys: {', '.join(sorted(GLOBAL_KEYS))}, or <metric>.<option> for the metrics "
                              f"requested ({', '.join(names)})")
    built = {}
    for name in names:
        cls = METRICS.get(name)
        options = _options(cls, name, cfg.get(name) or {})
        for key in FORWARDED:
            if key in cfg and key not in options and annotation_of(cls, key) is not None:
                options[key] = cfg[key]
        try:
            built[name] = cls(**options)
        except (TypeError, ValueError) as exc:
            raise BenchError(f"bad options for metric {name}: {exc}") from exc
    return built


# What each folder key holds, said in the fix of an error about it.
FOLDERS = {
    "fake": "fake=<folder of generated images>",
    "real": "real=<folder of real images: the ground truth, paired by file name, or the real set>",
    "exemplar": "exemplar=<folder of the exemplars, named as the generated images>",
    "labels": "labels=<folder of single-channel label PNGs of class ids (or .npy), named as the generated images>",
}


def _require(cfg: dict[str, Any], key: str, metric: str) -> Path:
    """The folder under ``key``; a missing key or folder is one ``BenchError`` that names the key to pass."""
    if not cfg.get(key):
        raise BenchError(f"metric {metric} needs {key}=DIR", hint=f"pass {FOLDERS[key]}")
    folder = Path(str(cfg[key])).expanduser()
    if not folder.is_dir():
        raise DataError(f"{key} folder {folder} does not exist or is not a folder (metric {metric})",
                         hint=f"pass {FOLDERS[key]}")
    return folder


def _pairs(metric: Any, cfg: dict[str, Any], log: ReadLog) -> Any:
    from metrics.base import MetricValue, describe
    from metrics.images import list_images, load_image, pair_by_name

    fake_dir = _require(cfg, "fake", metric.name)
    reference = getattr(metric, "reference", "ground_truth")
    what = "exemplar" if reference == "exemplar" else "real"
    ref_dir = _require(cfg, what, f"{metric.name} (reference={reference})")
    pairs = pair_by_name(list_images(fake_dir, "fake"), list_images(ref_dir, what), fake_dir, ref_dir, what)
    per_image: list[torch.Tensor] | dict[str, list[torch.Tensor]] = []
    for start in range(0, len(pairs), PAIR_CHUNK):
        chunk = pairs[start:start + PAIR_CHUNK]
        fakes, refs = [], []
        for name, fake_path, ref_path in chunk:
            f, r = load_image(fake_path, log), load_image(ref_path, log)
            if f.shape != r.shape:
                raise DataError(f"size mismatch for pair {name!r}: {fake_path} is {f.shape[1]}×{f.shape[2]}, "
                                f"{ref_path} is {r.shape[1]}×{r.shape[2]}",
                                hint=f"paired metrics need equal sizes; resize the {what} images to the outputs' "
                                     "size first (and record the filter)")
            fakes.append(f)
            refs.append(r)
        scores = metric.per_image(torch.stack(fakes), torch.stack(refs))
        if isinstance(scores, dict):  # style_relevance: several aspects per image
            per_image = per_image or {k: [] for k in scores}
            for k, v in scores.items():
                per_image[k].append(v)  # type: ignore[index]
        else:
            per_image.append(scores)  # type: ignore[union-attr]
    if isinstance(per_image, dict):
        values = [describe(MetricValue.from_samples(f"{metric.name}_{k}", torch.cat(v), metric.direction,
                                                    metric.calibrated), metric) for k, v in per_image.items()]
        values[0].extra["companions"] = values[1:]
        value = values[0]
    else:
        value = describe(MetricValue.from_samples(metric.name, torch.cat(per_image), metric.direction,
                                                  metric.calibrated), metric)
    value.extra["pairs"] = len(pairs)
    return value


def _sets(metric: Any, cfg: dict[str, Any], log: ReadLog) -> Any:
    from metrics.images import FolderImages, list_images

    fake_dir, real_dir = _require(cfg, "fake", metric.name), _require(cfg, "real", metric.name)
    batch_size = int(cfg.get("batch_size", 50))
    fake = FolderImages(list(list_images(fake_dir, "fake").values()), batch_size, log)
    real = FolderImages(list(list_images(real_dir, "real").values()), batch_size, log)
    if "real_hash" in inspect.signature(metric.compute).parameters:  # FID, KID: cache the real set's features
        return metric.compute(fake, real, real_hash=real.fingerprint())
    return metric.compute(fake, real)


def _groups(metric: Any, cfg: dict[str, Any], log: ReadLog) -> Any:
    from metrics.images import list_images, load_image

    fake_dir = _require(cfg, "fake", metric.name)
    groups = []
    for sub in sorted(p for p in fake_dir.iterdir() if p.is_dir()):
        images = [load_image(p, log) for p in list_images(sub, f"outputs of {sub.name}").values()]
        if len(images) < 2:
            raise DataError(f"{sub} holds {len(images)} image; diversity needs at least 2 outputs per input")
        if len({tuple(i.shape) for i in images}) > 1:
            raise DataError(f"images in {sub} differ in size; diversity needs one size per input")
        groups.append(torch.stack(images))
    if not groups:
        raise DataError(f"{metric.name} reads one sub-folder per input in {fake_dir}, found none",
                        hint="lay out outputs as fake/<input name>/<k>.png")
    return metric(groups)


def _images_and_labels(metric: Any, cfg: dict[str, Any], log: ReadLog) -> Any:
    from metrics.images import list_images, load_image, load_label_map, pair_by_name

    fake_dir, labels_dir = _require(cfg, "fake", metric.name), _require(cfg, "labels", metric.name)
    pairs = pair_by_name(list_images(fake_dir, "fake"), list_images(labels_dir, "labels"), fake_dir, labels_dir,
                         "label")
    images, labels = [], []
    for start in range(0, len(pairs), PAIR_CHUNK):
        chunk = pairs[start:start + PAIR_CHUNK]
        images.append(torch.stack([load_image(f, log) for _, f, _ in chunk]))
        labels.append(torch.stack([load_label_map(lab) for _, _, lab in chunk]))
    return metric(images, labels)


# How to read the folders for each kind of input a metric declares (``Metric.inputs``).
READERS: dict[str, Callable[[Any, dict[str, Any], ReadLog], Any]] = {
    "pairs": _pairs, "sets": _sets, "groups": _groups, "images+labels": _images_and_labels,
}


def compute(metric: Any, cfg: dict[str, Any], log: ReadLog | None = None) -> Any:
    """The metric's value(s) on the folders of ``cfg``, read as its declared ``inputs`` say; ``log`` collects what
    reading showed (transparent images: one warning per folder)."""
    from metrics.images import ReadLog
    kind = getattr(metric, "inputs", None)
    if kind not in READERS:
        raise BenchError(f"metric {metric.name} declares inputs={kind!r}, which bench score cannot read",
                         hint=f"give its class `inputs = ` one of {', '.join(READERS)}")
    return READERS[kind](metric, cfg, ReadLog() if log is None else log)


def _jsonable(value: Any) -> Any:
    from metrics.base import MetricValue

    if isinstance(value, MetricValue):
        return value_record(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def value_record(value: Any) -> dict[str, Any]:
    extra = {k: v for k, v in value.extra.items() if k not in ("companions", "settings", "protocol_hash")}
    return {
        "metric": value.name, "value": _jsonable(value.value), "std": _jsonable(value.std), "n": value.n,
        "direction": value.direction, "calibrated": value.calibrated,
        "status": "ok" if value.calibrated else "uncalibrated",
        "protocol_hash": value.extra.get("protocol_hash", ""), "warnings": list(value.warnings),
        "settings": _jsonable(value.extra.get("settings", {})), "extra": _jsonable(extra),
    }


def format_table(records: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    def fmt(x: Any) -> str:
        if x is None:
            return "—"
        return f"{x:.6g}" if isinstance(x, float) else str(x)

    rows = [[r["metric"], fmt(r["value"]), fmt(r["std"]), r["n"],
             "yes" if r["calibrated"] else "NO (UNCALIBRATED)", r["protocol_hash"],
             "; ".join(w.split(":")[0] if len(w) > 60 else w for w in r["warnings"])]
            for r in records]
    return tabulate(rows, headers=["metric", "value", "std", "n", "calibrated", "protocol", "notes"])


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    if argv[0] == "--list":
        from metrics import METRICS

        for name, cls in METRICS.items():
            doc = (cls.__doc__ or "").strip().splitlines()
            print(f"{name:<22} {cls.direction:<6} {doc[0] if doc else ''}")
        return 0
    cfg = parse_args(argv)
    metrics = build_metrics(cfg)
    from metrics.base import flatten
    from metrics.images import ReadLog

    results, input_warnings = [], []
    for metric in metrics.values():
        log = ReadLog()
        values = flatten([compute(metric, cfg, log)])
        for value in values:  # each record carries the warnings of the folders its metric read
            value.warnings.extend(w for w in log.warnings() if w not in value.warnings)
        input_warnings += [w for w in log.warnings() if w not in input_warnings]
        results += values
    records = [value_record(v) for v in results]
    out = Path(str(cfg.get("out", "score.json"))).expanduser()
    payload = {"fake": cfg.get("fake"), "real": cfg.get("real"), "exemplar": cfg.get("exemplar"),
               "labels": cfg.get("labels"), "calibrated": all(r["calibrated"] for r in records),
               "input_warnings": input_warnings, "results": records}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    tmp.replace(out)
    print(format_table(records))
    if not payload["calibrated"]:
        print("\nUNCALIBRATED: rows marked NO ran with random weights instead of the published pretrained weights "
              "(allow_uncalibrated=true); they are smoke-test numbers, not the metric.", file=sys.stdout)
    for r in records:
        for warning in r["warnings"]:
            if not warning.startswith("uncalibrated") and warning not in input_warnings:
                print(f"warning ({r['metric']}): {warning}")
    for warning in input_warnings:  # once per folder, however many metrics read it
        print(f"warning (input): {warning}")
    print(f"\nwrote {out}")
    return 0
