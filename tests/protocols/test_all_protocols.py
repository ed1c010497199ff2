"""Contract tests for every registered protocol (present and future), parametrised over the protocol registry.

Each protocol is built as ``bench run`` builds it (``bench/configs/protocol/<name>.yaml``, ``scale=smoke``, metrics with
random weights where the published ones are absent) with the smallest sample counts (``TINY``, for the counts its
config has), prepared, and made to evaluate the reference methods and its own oracle (``Protocol.oracle()``), which
must score each of its ``exact_metrics`` columns at the metric's ``best``. A new protocol needs nothing here.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench.config import compose_run
from bench.runner import build_protocol
from core.columns import Column
from core.errors import BenchError
from datasets.worlds import WORLDS
from methods import create_method
from metrics import METRICS
from metrics.base import companions
from protocols import PROTOCOLS, Protocol

NAMES = PROTOCOLS.names()
REFERENCE_METHODS = ["input_copy", "exemplar_copy", "colour_transfer"]
# Smallest sample counts, applied to every protocol whose config has them at scale smoke (samples.smoke.<key>)
TINY = {"train": 4, "test": 4}
# Bounds any value of a metric must respect (prefix of the column's metric → (low, high)).
BOUNDS = {"ssim": (-1.0, 1.0), "lpips": (0.0, math.inf), "fid": (0.0, math.inf)}
TOLERANCE = 1e-6


def tiny_overrides(name: str) -> list[str]:
    """``protocol.samples.smoke.<key>=<count>`` for each ``TINY`` key the protocol's config has."""
    smoke = compose_run([f"protocol={name}", "scale=smoke"]).protocol.get("samples", {}).get("smoke") or {}
    return [f"protocol.samples.smoke.{key}={count}" for key, count in TINY.items() if key in smoke]


_BUILT: dict[str, Protocol] = {}


def build(name: str) -> Protocol:
    """The protocol as ``bench run`` builds it at its smallest counts, prepared once per test session."""
    if name not in _BUILT:
        cfg = compose_run([f"protocol={name}", "scale=smoke", "allow_uncalibrated=true", "device=cpu",
                           *tiny_overrides(name)])
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
def test_an_oracle_gets_the_best_score_on_the_exact_columns(name: str) -> None:
    cls = PROTOCOLS.get(name)
    assert set(cls.exact_metrics) <= {c.metric for c in cls.columns()}, f"{name}: exact_metrics not among columns()"
    protocol = build(name)
    oracle = protocol.oracle()
    if oracle is None:
        pytest.skip(f"{name} has no exact ground truth")
    values = protocol.evaluate(oracle).values
    checked = [(Column(*k), v) for k, v in values.items() if k[0] in cls.exact_metrics]
    assert checked, f"{name} has an oracle but no exact_metrics column among {list(values)}"
    for column, value in checked:
        best = METRICS.get(value.extra["settings"]["metric"]).best
        assert best is not None, f"{column}: its metric declares no best score"
        assert abs(value.value - best) < TOLERANCE, f"{column}: oracle scored {value.value}, best is {best}"
        assert value.extra.get("settings") and value.extra.get("protocol_hash")


@pytest.mark.parametrize("name", NAMES)
def test_offline_default_data_says_whether_it_is_a_stand_in(name: str) -> None:
    """Offline data built from a procedural or substitute source (a world, ``edges2objects``, ``digits``) is named as
    a stand-in, NOT the paper's dataset; the table header prints this. A protocol whose offline data is its own real
    data (e.g. a user's) claims nothing."""
    provenance = build(name).provenance
    assert provenance is not None
    procedural = provenance.source.split()[0] in set(WORLDS.names()) | {"edges2objects", "digits"}
    if procedural or provenance.stand_in:
        assert "NOT" in provenance.stand_in, f"{name}: {provenance}"


@pytest.mark.parametrize("name", NAMES)
def test_the_declared_primary_column_is_one_of_the_columns(name: str) -> None:
    """The matrix of `bench report matrix=true` shows each protocol's `primary` column (its paper's headline)."""
    cls = PROTOCOLS.get(name)
    column = cls.primary_column()
    assert column.label == cls.primary and column in cls.columns() and column.metric


@pytest.mark.parametrize("name", [n for n in NAMES if "batch_size" in compose_run([f"protocol={n}"]).protocol])
def test_a_non_numeric_batch_size_is_one_line_naming_the_key(name: str) -> None:
    """Every protocol reads its numeric settings through ``Protocol.setting``: a value of the wrong kind is a
    ``BenchError`` naming the key, raised when the protocol is built (before any data or training)."""
    from core.errors import BenchError

    with pytest.raises(BenchError, match=r"protocol\.batch_size='abc' is not an integer"):
        build_protocol(compose_run([f"protocol={name}", "scale=smoke", "protocol.batch_size=abc"]))


@pytest.mark.parametrize("name", NAMES)
def test_runs_that_differ_only_in_seed_share_a_protocol_hash(name: str) -> None:
    """Issue 13: edges2shoes runs at seeds 0 and 1 got hashes e144486cc2dc and 214894064f5e (the run seed reached the
    metrics' random stand-in weights and KID subsets), so a report never aggregated them over seeds. The metrics'
    randomness is ``protocol.metric_seed``, one value for every run seed."""
    cfg = compose_run([f"protocol={name}", "scale=smoke", "allow_uncalibrated=true", "device=cpu", "seed=1",
                       *tiny_overrides(name)])
    other = build_protocol(cfg)
    other.prepare()
    assert other.seed == 1 and build(name).seed == 0
    assert other.settings() == build(name).settings() and other.protocol_hash() == build(name).protocol_hash()


@pytest.mark.parametrize(("value", "same_as_default"), [(0, True), (1, False)])
def test_metric_seed_0_given_or_not_is_one_setting(value: int, same_as_default: bool) -> None:
    """Newcomer review: `+protocol.metric_seed=0` (the default, spelled out) gave another hash than leaving it out."""
    cfg = compose_run(["protocol=edges2shoes", "scale=smoke", "allow_uncalibrated=true", "device=cpu",
                       f"+protocol.metric_seed={value}", *tiny_overrides("edges2shoes")])
    given = build_protocol(cfg)
    given.prepare()
    assert given.metric_seed == value
    assert (given.protocol_hash() == build("edges2shoes").protocol_hash()) is same_as_default


def test_a_bad_metric_seed_names_the_option_as_it_is_typed() -> None:
    cfg = compose_run(["protocol=edges2shoes", "scale=smoke", "device=cpu", "+protocol.metric_seed=abc"])
    with pytest.raises(BenchError, match=r"\+protocol.metric_seed='abc' is not an integer") as error:
        build_protocol(cfg).metric_seed  # noqa: B018 (the property reads and checks the setting)
    assert error.value.hint == "+protocol.metric_seed=<int> (default 0)"
