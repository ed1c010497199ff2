"""``python -m bench list``: registered methods (capabilities, parameter counts per scale), protocols (data sources,
metrics) and which method/protocol pairs are compatible."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pandas as pd
import torch

from bench.config import group_options, load_method_config, method_class, method_params
from core.errors import BenchError, MissingWeightsError

SUMMARY = "list methods (capabilities, parameter counts per scale), protocols and compatible pairs"
SCALES = ("smoke", "cpu", "paper")


def _human(count: int) -> str:
    return f"{count / 1e6:.2f}M" if count >= 1e6 else f"{count / 1e3:.1f}k" if count >= 1e3 else str(count)


@contextlib.contextmanager
def uninitialised() -> Iterator[None]:
    """Build networks without drawing their initial weights (``torch.nn.init``'s in-place initialisers and
    ``Tensor.normal_`` / ``uniform_`` do nothing meanwhile): a count needs only the shapes, and drawing 100M+ random
    paper-scale weights was most of ``bench list``'s time (70 s here). Restored on exit."""
    targets = [(torch.nn.init, n) for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")]
    targets += [(torch.Tensor, "normal_"), (torch.Tensor, "uniform_")]
    saved = [(owner, name, getattr(owner, name)) for owner, name in targets]
    try:
        for owner, name in targets:
            setattr(owner, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def parameter_count(name: str, scale: str) -> str:
    """Total trainable parameters of a method config at a scale (built uninitialised, never trained; frozen
    pretrained encoders are not counted)."""
    from methods import create_method

    cfg = load_method_config(name)
    try:
        params = method_params(cfg, scale)
    except BenchError:
        return "no preset"
    with uninitialised():
        try:
            method = create_method(method_class(name, cfg), **params)
        except MissingWeightsError:
            # Pretrained encoders do not change the count; build with random weights just to count.
            try:
                method = create_method(method_class(name, cfg), **(params | {"allow_uncalibrated": True}))
            except Exception as exc:
                return f"n/a ({type(exc).__name__})"
        except Exception as exc:
            return f"n/a ({type(exc).__name__})"
    counts = method.parameter_counts()
    return _human(sum(counts.values())) if counts else "0 (not learned)"


def methods_frame(with_counts: bool = True) -> pd.DataFrame:
    from methods import METHODS

    rows = []
    for config_name in group_options("methods"):
        cfg = load_method_config(config_name)
        try:
            cls = METHODS.get(method_class(config_name, cfg))
        except BenchError as exc:
            rows.append({"method": config_name, "class": "?", "capabilities": f"BROKEN: {exc}"})
            continue
        row = {"method": config_name, "class": cls.registry_name, "capabilities": cls.capabilities.summary(),
               "variant_of": cfg.get("variant_of") or ""}
        if with_counts:
            row |= {f"params@{s}": parameter_count(config_name, s) for s in SCALES}
        rows.append(row)
    return pd.DataFrame(rows)


def protocols_frame() -> pd.DataFrame:
    from protocols import PROTOCOLS

    rows = []
    for name, cls in PROTOCOLS.items():
        info = cls.describe()
        rows.append({"protocol": name, "paper": info["paper"], "data sources": "; ".join(info["data_sources"]),
                     "metrics": ", ".join(info["metrics"])})
    return pd.DataFrame(rows)


def compatibility_frame(scale: str = "smoke") -> pd.DataFrame:
    """Method configs × protocols: ``yes``, or ``no: <reason>`` when the protocol refuses the method's capabilities
    (``Protocol.refusal``) or its config has no recipe for the protocol's data at ``scale`` (``recipe_refusals``),
    the checks ``bench run`` makes before it builds data."""
    from bench.run_checks import recipe_refusals
    from methods import METHODS
    from protocols import PROTOCOLS

    table = {}
    for pname, pcls in PROTOCOLS.items():
        column = {}
        for config_name in group_options("methods"):
            try:
                cls = METHODS.get(method_class(config_name, load_method_config(config_name)))
            except BenchError:
                continue
            reason = pcls.refusal(cls)
            column[config_name] = "yes" if reason is None else f"no: {reason}"
        served = [name for name, cell in column.items() if cell == "yes"]
        column |= {name: f"no: {reason}" for name, reason in recipe_refusals(pname, served, scale).items()}
        table[pname] = column
    return pd.DataFrame(table)


def main(argv: list[str]) -> int:
    unknown = [arg for arg in argv if arg != "--no-counts"]
    if unknown:
        print(f"error: bench list takes only --no-counts, not {' '.join(unknown)}", file=sys.stderr)
        return 2
    with_counts = "--no-counts" not in argv
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 90)
    print("## Methods\n")
    print(methods_frame(with_counts).to_markdown(index=False))
    print("\n## Protocols\n")
    print(protocols_frame().to_markdown(index=False))
    print("\n## Compatibility (method × protocol)\n")
    table, reasons = numbered_reasons(compatibility_frame())
    print(table.to_markdown())
    if reasons:
        print("\nreasons:\n")
        print("\n".join(f"- [{i}] {reason}" for i, reason in enumerate(reasons, 1)))
    return 0


def numbered_reasons(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with each ``no: <reason>`` cell as ``no [k]`` and the distinct reasons in order (``[k]`` is
    ``reasons[k - 1]``), so that the terminal table stays narrow (a reason repeats down a whole column)."""
    numbers: dict[str, int] = {}

    def mark(cell: object) -> object:
        if not isinstance(cell, str) or not cell.startswith("no: "):
            return cell
        return f"no [{numbers.setdefault(cell[4:], len(numbers) + 1)}]"

    return frame.apply(lambda column: column.map(mark)), list(numbers)
