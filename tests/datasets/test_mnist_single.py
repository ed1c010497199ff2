from __future__ import annotations

import numpy as np
import pytest

from datasets.mnist import load_digits
from datasets.mnist_single import B_COMBOS, BLACK, PURE, WHITE, build_mnist_single


@pytest.fixture(scope="module")
def splits():  # type: ignore[no-untyped-def]
    d = load_digits()
    return build_mnist_single(d.train_images, d.train_labels, d.test_images, d.test_labels, seed=0)


def colours(images: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(c) for c in images.reshape(-1, 3)}


def test_binarised_at_127_5() -> None:
    images = np.zeros((2, 28, 28), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = 127, 128
    train, _ = build_mnist_single(images, np.zeros(2, np.int64), images, np.zeros(2, np.int64), seed=0)
    assert not train.mask_a[:, 0, 0].any() and train.mask_a[:, 0, 1].all()


def test_domain_a_is_black_on_white_or_white_on_black(splits) -> None:  # type: ignore[no-untyped-def]
    train, test = splits
    for split in (train, test):
        fg, bg = split.scheme_a[:, 0], split.scheme_a[:, 1]
        assert {tuple(x) for x in fg} == {BLACK, WHITE} and (fg != bg).any(axis=1).all()
        assert colours(split.a) <= {BLACK, WHITE}
        share = (fg == 0).all(axis=1).mean()
        assert 0.4 < share < 0.6


def test_domain_b_uses_six_ordered_pairs_of_distinct_pure_colours(splits) -> None:  # type: ignore[no-untyped-def]
    _, test = splits
    pairs = {(tuple(f), tuple(b)) for f, b in test.scheme_b}
    assert pairs == {(PURE[f], PURE[b]) for f, b in B_COMBOS}
    assert colours(test.b) <= set(PURE.values())


def test_training_b_digits_5_to_9_are_red_on_green_only_in_train(splits) -> None:  # type: ignore[no-untyped-def]
    train, test = splits
    red_on_green = (PURE["R"], PURE["G"])
    high = train.label_b > 4
    assert all((tuple(f), tuple(b)) == red_on_green for f, b in train.scheme_b[high])
    assert len({(tuple(f), tuple(b)) for f, b in train.scheme_b[~high]}) == 6
    test_high = {(tuple(f), tuple(b)) for f, b in test.scheme_b[test.label_b > 4]}
    assert len(test_high) == 6


def test_ground_truth_is_content_digit_in_exemplar_colours(splits) -> None:  # type: ignore[no-untyped-def]
    _, test = splits
    gt, a, b = test.gt_a2b, test.a, test.b
    for i in range(20):
        fg_b, bg_b = test.scheme_b[i]
        assert (gt[i][test.mask_a[i]] == fg_b).all() and (gt[i][~test.mask_a[i]] == bg_b).all()
        # the ground truth has A's shape: where A shows its foreground colour, GT shows B's foreground colour
        assert ((a[i] == test.scheme_a[i, 0]).all(-1) == (gt[i] == fg_b).all(-1)).all()
        fg_a, bg_a = test.scheme_a[i]
        assert (test.gt_b2a[i][test.mask_b[i]] == fg_a).all() and (test.gt_b2a[i][~test.mask_b[i]] == bg_a).all()
        assert ((b[i] == fg_b).all(-1) == test.mask_b[i]).all()


def test_a_and_b_are_different_instances(splits) -> None:  # type: ignore[no-untyped-def]
    _, test = splits
    assert (test.mask_a != test.mask_b).any(axis=(1, 2)).mean() > 0.9


def test_deterministic_from_seed() -> None:
    d = load_digits()
    args = (d.train_images, d.train_labels, d.test_images, d.test_labels)
    one, two, other = (build_mnist_single(*args, seed=s)[1] for s in (0, 0, 1))
    assert one.fingerprint() == two.fingerprint() != other.fingerprint()
    np.testing.assert_array_equal(one.gt_a2b, two.gt_a2b)
