"""Contract tests for every registered protocol (present and future), parametrised over the protocol registry.

Each protocol is built as ``bench run`` builds it (``bench/configs/protocol/<name>.yaml``, ``scale=smoke``, metrics with
random weights where the published ones are absent) with the smallest sample counts, prepared, and made to evaluate
the reference methods and an oracle. A new protocol adds its cheapest overrides to ``SMALL`` and its ground truth to
``TRUTHS`` (the oracle is built here, from the protocol's own data).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

from bench.config import compose_run
from bench.runner import build_protocol
from core.columns import Column
from datasets.paired import to_tensor
from methods import create_method
from methods.base import Capabilities, Method
from metrics.base import companions
from protocols import PROTOCOLS, Protocol

NAMES = PROTOCOLS.names()
REFERENCE_METHODS = ["input_copy", "exemplar_copy", "colour_transfer"]
# Smallest sample counts per protocol (overrides of its config at scale=smoke); a protocol not listed runs at smoke.
SMALL = {
    "mnist_single": ["protocol.samples.smoke.train=8", "protocol.samples.smoke.test=6"],
    "mnist_multiple": ["protocol.samples.smoke.train=4", "protocol.samples.smoke.test=4"],
    "edges2shoes": ["protocol.samples.smoke.train=4"],
    "edges2handbags": ["protocol.samples.smoke.train=4"],
}
Triple = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # content, exemplar, exact translation: float [N,C,H,W]


def _mnist_single(p: Any) -> Iterator[Triple]:
    t, f = p.test_split(), lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
    yield f(t.a), f(t.b), f(t.gt_a2b)
    yield f(t.b), f(t.a), f(t.gt_b2a)


def _mnist_multiple(p: Any) -> Iterator[Triple]:
    t, f, idx = p.test_split(), lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255, np.arange(len(p.test))
    yield f(t.a(idx)), f(t.b(idx)), f(t.gt_a2b(idx))
    yield f(t.b(idx)), f(t.a(idx)), f(t.gt_b2a(idx))


def _edges(p: Any) -> Iterator[Triple]:
    rows, refs = np.meshgrid(np.arange(len(p.test_a)), np.arange(len(p.test_b)), indexing="ij")
    rows, refs = rows.reshape(-1), refs.reshape(-1)  # every input under every reference
    yield to_tensor(p.test_a[rows]), to_tensor(p.test_b[refs]), to_tensor(p.data.val.exact_translation(rows, refs))


# Ground truth per protocol, and the scores an exact translation must get on its paired metrics.
TRUTHS: dict[str, tuple[Callable[[Any], Iterator[Triple]], dict[str, float]]] = {
    "mnist_single": (_mnist_single, {"ssim": 1.0}),
    "mnist_multiple": (_mnist_multiple, {"ssim": 1.0}),
    "edges2shoes": (_edges, {"ssim_exact": 1.0, "lpips_exact": 0.0}),
    "edges2handbags": (_edges, {"ssim_exact": 1.0, "lpips_exact": 0.0}),
}
# Bounds any value of a metric must respect (prefix of the column's metric → (low, high)).
BOUNDS = {"ssim": (-1.0, 1.0), "lpips": (0.0, math.inf), "fid": (0.0, math.inf)}
TOLERANCE = 1e-6


def _key(images: torch.Tensor) -> list[bytes]:
    return [row.numpy().tobytes() for row in (images * 255).round().to(torch.uint8)]


class Oracle(Method):
    """Returns the exact translation of each (content, exemplar) pair, looked up by the images' bytes."""

    capabilities = Capabilities(training="none", guidance="exemplar", directions="both")
    registry_name = "oracle"

    def __init__(self, triples: Iterator[Triple]) -> None:
        super().__init__()
        self.table: dict[tuple[bytes, bytes], torch.Tensor] = {}
        for content, exemplar, truth in triples:
            self.table.update(zip(zip(_key(content), _key(exemplar), strict=True), truth, strict=True))

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return torch.stack([self.table[pair] for pair in zip(_key(content), _key(exemplar), strict=True)])


_BUILT: dict[str, Protocol] = {}


def build(name: str) -> Protocol:
    """The protocol as ``bench run`` builds it at its smallest counts, prepared once per test session."""
    if name not in _BUILT:
        cfg = compose_run([f"protocol={name}", "scale=smoke", "allow_uncalibrated=true", "device=cpu",
                           *SMALL.get(name, [])])
        protocol = build_protocol(cfg)
        protocol.prepare()
        _BUILT[name] = protocol
    return _BUILT[name]


def primary_columns(values: dict[Column, Any]) -> list[Column]:
    """The returned columns less the companions (KID beside FID, ...) that ride inside a primary value."""
    riding = {c.name for v in values.values() for c in companions(v)}
    return [Column(*k) for k in values if k[0] not in riding]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method_name", REFERENCE_METHODS)
def test_reference_methods_fill_the_declared_columns_with_described_values(name: str, method_name: str) -> None:
    protocol = build(name)
    method = create_method(method_name)
    if protocol.refusal(type(method)):
        pytest.skip(f"{name} refuses {method_name}: {protocol.refusal(type(method))}")
    values = protocol.evaluate(method).values
    declared = type(protocol).columns()
    assert [c.label for c in declared] == type(protocol).metric_names()
    returned = primary_columns(values)
    assert set(returned) <= set(declared), f"undeclared columns {set(returned) - set(declared)}"
    if type(method).capabilities.guidance == "exemplar":  # an exemplar-guided method gets every column
        assert set(returned) == set(declared) and len(returned) == len(declared)
    for column, value in values.items():
        assert value.extra.get("settings"), f"{column}: no settings"
        assert value.extra.get("protocol_hash"), f"{column}: no hash"
        assert value.n > 0 and math.isfinite(value.value)
        low, high = next((b for m, b in BOUNDS.items() if column[0].startswith(m)), (-math.inf, math.inf))
        assert low - TOLERANCE <= value.value <= high + TOLERANCE, f"{column} = {value.value} outside [{low}, {high}]"


@pytest.mark.parametrize("name", NAMES)
def test_an_oracle_gets_the_best_score_on_paired_metrics(name: str) -> None:
    assert name in TRUTHS, f"add the ground truth of {name} to TRUTHS (and its smallest counts to SMALL)"
    protocol = build(name)
    truths, best = TRUTHS[name]
    values = protocol.evaluate(Oracle(truths(protocol))).values
    checked = [(Column(*k), v) for k, v in values.items() if k[0] in best]
    assert checked, f"{name}: no paired metric among {list(values)}"
    for column, value in checked:
        assert abs(value.value - best[column.metric]) < TOLERANCE, f"{column}: oracle scored {value.value}"
        assert value.extra.get("settings") and value.extra.get("protocol_hash")
