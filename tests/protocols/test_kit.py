"""The protocol kit's ground-truth oracle: answers any batch of the pairs it was given, refuses any other."""

from __future__ import annotations

import pytest
import torch

from protocols.kit import GroundTruthOracle, image_keys, translate_all


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
