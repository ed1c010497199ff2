from __future__ import annotations

import pytest
import torch

from core.errors import BenchError
from core.hashing import settings_hash
from methods import create_method
from methods.base import Capabilities, Method
from metrics.ssim import ssim_per_image
from protocols import PROTOCOLS


def make(scale: str = "smoke", **samples: int):  # type: ignore[no-untyped-def]
    cls = PROTOCOLS.get("mnist_single")
    settings = {"ssim": {}, "samples": {scale: samples or {"train": 40, "test": 24}}, "grid_rows": 3}
    protocol = cls(settings, {}, {"name": scale})
    protocol.prepare()
    return protocol


def test_sample_counts_follow_the_scale() -> None:
    protocol = make(train=40, test=24)
    assert protocol.sample_counts() == {"train": 40, "test": 24}
    assert len(protocol.train_data().a) == 40 and protocol.train_data().kind == "unpaired"
    assert make("cpu", train=None, test=None).sample_counts() == {"train": 1437, "test": 360}


def test_input_copy_scores_equal_a_direct_ssim_computation() -> None:
    protocol = make()
    result = protocol.evaluate(create_method("input_copy"))
    test = protocol.test_split()
    a = torch.from_numpy(test.a).permute(0, 3, 1, 2).float() / 255
    gt = torch.from_numpy(test.gt_a2b).permute(0, 3, 1, 2).float() / 255
    expected = ssim_per_image(a, gt)
    value = result.values[("ssim", "A→B")]
    assert value.n == 24 and abs(value.value - expected.mean().item()) < 1e-9


def test_rgb_and_luma_ssim_columns_side_by_side_in_the_hash() -> None:
    protocol = make()
    assert type(protocol).metric_names() == ["ssim A→B", "ssim B→A", "ssim_luma A→B", "ssim_luma B→A"]
    result = protocol.evaluate(create_method("exemplar_copy"))
    test = protocol.test_split()
    b = torch.from_numpy(test.b).permute(0, 3, 1, 2).float() / 255
    gt = torch.from_numpy(test.gt_a2b).permute(0, 3, 1, 2).float() / 255
    assert abs(result.values[("ssim_luma", "A→B")].value - ssim_per_image(b, gt, colour="luma").mean().item()) < 1e-9
    assert abs(result.values[("ssim", "A→B")].value - ssim_per_image(b, gt).mean().item()) < 1e-9
    metrics = protocol.settings()["metrics"]
    assert metrics["ssim"]["colour"] == "per-channel RGB mean" and "luma" in metrics["ssim_luma"]["colour"]
    # The luma column joins the protocol hash: the hash differs from the one of an RGB-only protocol (issue 13)
    rgb_only = protocol.settings() | {"metrics": {"ssim": metrics["ssim"]}}
    assert protocol.protocol_hash() != settings_hash(rgb_only)


def test_the_colour_of_the_ssim_columns_cannot_be_set() -> None:
    cls = PROTOCOLS.get("mnist_single")
    with pytest.raises(BenchError, match=r"ssim\.colour cannot be set") as caught:
        cls({"ssim": {"colour": "luma"}, "samples": {}}, {}, {"name": "smoke"})
    assert "ssim_luma: luma" in str(caught.value) and "drop protocol.ssim.colour" in caught.value.hint


def test_an_oracle_that_returns_the_ground_truth_scores_one() -> None:
    protocol = make()
    test = protocol.test_split()

    class Oracle(Method):
        capabilities = Capabilities(training="none", guidance="exemplar")

        def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
            truth = test.gt_a2b if direction == "AB" else test.gt_b2a
            return torch.from_numpy(truth).permute(0, 3, 1, 2).float() / 255

    result = protocol.evaluate(Oracle())
    assert all(abs(v.value - 1.0) < 1e-9 for v in result.values.values())


def test_refuses_paired_and_one_directional_methods() -> None:
    cls = PROTOCOLS.get("mnist_single")

    class Paired(Method):
        capabilities = Capabilities(training="paired", guidance="noise")

        def translate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    class OneWay(Paired):
        capabilities = Capabilities(training="unpaired", guidance="exemplar", directions="AB")

    class Labels(Paired):
        capabilities = Capabilities(training="unpaired", guidance="exemplar", needs_label_maps=True)

    assert "needs paired training data" in cls.refusal(Paired)
    assert "A→B only" in cls.refusal(OneWay)
    assert "label maps" in cls.refusal(Labels)
    assert cls.refusal(type(create_method("colour_transfer"))) is None


def test_reported_rows_are_labelled_and_complete() -> None:
    rows = make().reported()
    assert {r.method for r in rows} >= {"cyclegan", "unit", "munit", "egscit", "adain", "wct"}
    assert all(r.source.startswith("reported: EGSC-IT (ICLR 2019) Table") for r in rows)
    egscit = {r.translation: (r.value, r.std) for r in rows if r.method == "egscit"}
    assert egscit == {"A→B": (0.478, 0.090), "B→A": (0.232, 0.131)}
