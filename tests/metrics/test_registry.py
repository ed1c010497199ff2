"""Every metric is registered by name, says which direction is better and describes itself fully; values carry the
protocol hash of the settings they were computed under."""

from __future__ import annotations

import pytest
import torch

from core.hashing import settings_hash
from metrics import METRICS, create_metric
from metrics.base import MetricValue, SetMetric, describe, flatten

EXPECTED = {"ssim", "psnr", "fid", "kid", "lpips", "lpips_diversity", "swd", "style_loss", "semantic_consistency",
            "style_relevance", "exemplar_fidelity", "miou"}


def test_all_metrics_are_registered() -> None:
    assert set(METRICS.names()) >= EXPECTED
    for name, cls in METRICS.items():
        assert cls.direction in {"higher", "lower"}, name
        assert cls.__doc__ and cls.__doc__.strip(), f"{name}: a registered metric documents itself"
    assert issubclass(METRICS.get("fid"), SetMetric) and issubclass(METRICS.get("swd"), SetMetric)


@pytest.mark.parametrize("name", ["ssim", "psnr", "swd"])
def test_settings_name_implementation_and_version(name: str) -> None:
    settings = create_metric(name).settings()
    assert {"metric", "implementation", "version"} <= settings.keys()
    assert create_metric(name).settings_hash() == settings_hash(settings)


def test_values_carry_settings_and_hash() -> None:
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    metric = create_metric("ssim")
    value = metric(x, x)
    assert value.extra["protocol_hash"] == metric.settings_hash()
    assert value.extra["settings"] == metric.settings()


def test_describe_adds_sample_counts_and_uncalibrated_note() -> None:
    class Fake(SetMetric):
        name, direction = "fake", "lower"

        @property
        def calibrated(self) -> bool:
            return False

        def compute(self, fake, real):
            return MetricValue(self.name, 0.0, None, 1, self.direction)

    metric = Fake()
    a = describe(MetricValue("fake", 1.0, None, 3, "lower"), metric, n_fake=3)
    b = describe(MetricValue("fake", 1.0, None, 4, "lower"), metric, n_fake=4)
    assert a.extra["protocol_hash"] != b.extra["protocol_hash"]
    assert a.calibrated is False and a.warnings[0].startswith("uncalibrated")
    a.extra["companions"] = [b]
    assert flatten([a]) == [a, b]


def test_every_metric_declares_what_it_is_computed_from() -> None:
    from metrics.base import INPUT_KINDS

    for name, cls in METRICS.items():
        assert getattr(cls, "inputs", None) in INPUT_KINDS, f"{name}: set `inputs` to one of {INPUT_KINDS}"
