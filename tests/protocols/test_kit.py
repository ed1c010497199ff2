"""The protocol kit's ground-truth oracle: answers any batch of the pairs it was given, refuses any other."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from core.errors import BenchError
from methods.base import Capabilities, Method
from protocols.kit import GroundTruthOracle, image_keys, scale_counts, stand_in_sources, translate_all


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 4, 4), generator=torch.Generator().manual_seed(seed)).float() / 255


def test_the_oracle_returns_each_pairs_truth_in_any_order_and_batching() -> None:
    contents, exemplars, truths = _images(5, 0), _images(5, 1), _images(5, 2)
    oracle = GroundTruthOracle([(contents, exemplars, truths)])
    order = torch.tensor([3, 0, 4, 1, 2])
    out = translate_all(oracle, contents[order], exemplars[order], "AB", batch_size=2, seed=0)
    assert torch.equal(out, truths[order])


def test_the_oracle_refuses_a_pair_it_was_not_given() -> None:
    contents, exemplars = _images(2, 0), _images(2, 1)
    oracle = GroundTruthOracle([(contents, exemplars, _images(2, 2))])
    with pytest.raises(KeyError, match="no ground truth"):
        oracle.translate(contents, exemplars.flip(0))
    with pytest.raises(KeyError, match="needs an exemplar"):
        oracle.translate(contents, None)


def test_image_keys_are_the_8_bit_values() -> None:
    images = _images(2, 0)
    assert image_keys(images) == image_keys(images + 0.4 / 255) != image_keys(images.flip(0))


class _LabelsSeen(Method):
    """Returns the exemplar and records the exemplar labels it was given (None when the kit passed none)."""

    capabilities = Capabilities(training="none", guidance="exemplar", needs_label_maps=True,
                                needs_exemplar_labels=True)
    seen: ClassVar[list[torch.Tensor | None]] = []

    def translate(self, content, exemplar, direction="AB", seed=0, exemplar_labels=None):  # type: ignore[no-untyped-def]
        type(self).seen.append(exemplar_labels)
        return exemplar


class _NoLabels(_LabelsSeen):
    capabilities = Capabilities(training="none", guidance="exemplar", needs_label_maps=True)


def test_exemplar_labels_go_only_to_methods_that_declare_them_and_rgb_comes_back_for_any_conditioning() -> None:
    contents = torch.zeros(3, 5, 4, 4)  # a 5-channel conditioning: the outputs are RGB [3,3,4,4]
    contents[:, 0] = 1
    exemplars, labels = _images(3, 1), torch.rand(3, 5, 4, 4)
    out = translate_all(_LabelsSeen(), contents, exemplars, "AB", batch_size=2, seed=0, exemplar_labels=labels)
    assert torch.equal(out, exemplars) and torch.equal(torch.cat(_LabelsSeen.seen), labels)  # type: ignore[arg-type]
    _LabelsSeen.seen.clear()
    translate_all(_NoLabels(), contents, exemplars, "AB", batch_size=2, seed=0, exemplar_labels=labels)
    assert _LabelsSeen.seen == [None, None]  # translate called without the keyword
    with pytest.raises(BenchError, match="needs the exemplars' label maps"):
        translate_all(_LabelsSeen(), contents, exemplars, "AB", batch_size=2, seed=0)


def test_scale_counts_reads_the_scale_and_names_a_missing_one() -> None:
    settings = {"samples": {"smoke": {"test": 4}, "paper": {"test": 500}}}
    assert scale_counts("p", {}, settings) == ("smoke", {"test": 4})
    assert scale_counts("p", {"name": "paper"}, settings) == ("paper", {"test": 500})
    with pytest.raises(BenchError, match="protocol p has no sample counts for scale 'cpu'") as err:
        scale_counts("p", {"name": "cpu"}, settings)
    assert "bench/configs/protocol/p.yaml" in str(err.value.hint)


def test_stand_in_sources_names_the_real_dataset() -> None:
    assert stand_in_sources("world", "real", "data.root=<x>") == [
        "world (offline default: procedural stand-in with exact ground truth; NOT real)", "real (data.root=<x>)"]
