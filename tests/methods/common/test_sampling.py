"""The one batch sampler (``methods.common.sampling``): its two modes reproduce, index for index, the batches the
methods drew before the kit. The sequences below were computed with the replaced helpers
(``methods/pix2pix/utils.py step_indices``/``step_generator`` and ``datasets/base.py infinite_batches`` at commit
85b594c) and hard-coded: a change here changes every method's training data."""

from __future__ import annotations

import pytest
import torch

from core.errors import DataError
from datasets.base import TensorImageSet, TrainData
from methods.common.sampling import (
    PER_STEP_B,
    STAGE_STRIDE,
    STREAM_B,
    BatchSampler,
    derive_seed,
    fetch,
    load,
    paired_fetch,
    paired_sampler,
    step_generator,
)

# (seed, n, batch size) → the first 8 batches of the old ``step_indices(n, bs, step, seed)``
PER_STEP = {
    (0, 7, 2): [[4, 0], [5, 3], [2, 6], [0, 6], [1, 3], [5, 2], [2, 4], [3, 0]],
    (3, 5, 3): [[4, 2, 1], [1, 3, 0], [4, 1, 2], [4, 0, 2], [4, 2, 0], [3, 0, 1], [0, 3, 1], [4, 3, 1]],
    (1, 6, 2): [[4, 1], [0, 3], [2, 5], [1, 3]],
    (PER_STEP_B, 6, 2): [[1, 3], [5, 4], [2, 0], [1, 0]],  # AdaIN/WCT's domain B at run seed 0
}
# (seed, n, batch size) → the first 8 batches of the old ``infinite_batches(dataset, bs, seed)``
STREAM = {
    (0, 7, 2): [[4, 0], [5, 3], [2, 6], [6, 2], [4, 0], [3, 5], [1, 4], [5, 3]],
    (1, 5, 3): [[0, 4, 2], [3, 2, 4], [4, 1, 0], [1, 4, 3], [2, 0, 4], [0, 2, 4], [3, 1, 0], [4, 3, 0]],
    (STREAM_B, 6, 2): [[1, 5], [2, 0], [3, 4], [1, 2]],  # CycleGAN/UNIT/MUNIT's domain B at run seed 0
    (STAGE_STRIDE, 6, 2): [[1, 5], [0, 2], [3, 4], [2, 0]],  # EGSC-IT stage 1, domain A, run seed 0
    (STAGE_STRIDE + STREAM_B, 6, 2): [[5, 3], [1, 2], [4, 0], [3, 1]],  # EGSC-IT stage 1, domain B
}


def take(it, k: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    return [next(it).tolist() for _ in range(k)]


@pytest.mark.parametrize(("key", "want"), list(PER_STEP.items()))
def test_per_step_mode_reproduces_the_old_step_indices(key: tuple[int, int, int], want: list[list[int]]) -> None:
    seed, n, bs = key
    sampler = BatchSampler(n, bs, seed, "per_step")
    assert [sampler.at(t).tolist() for t in range(len(want))] == want
    assert take(sampler.indices(), len(want)) == want
    assert take(sampler.indices(start=2), len(want) - 2) == want[2:]  # a resumed run continues where it stopped


@pytest.mark.parametrize(("key", "want"), list(STREAM.items()))
def test_stream_mode_reproduces_the_old_infinite_batches(key: tuple[int, int, int], want: list[list[int]]) -> None:
    seed, n, bs = key
    sampler = BatchSampler(n, bs, seed, "stream")
    assert take(sampler.indices(), len(want)) == want
    assert take(sampler.indices(start=3), len(want) - 3) == want[3:]  # skip = fast-forward, same batches


def test_the_modes_differ_after_the_first_epoch_and_stream_has_no_random_access() -> None:
    per_step, stream = BatchSampler(7, 2, 0, "per_step"), BatchSampler(7, 2, 0, "stream")
    assert take(per_step.indices(), 3) == take(stream.indices(), 3)  # epoch 0: the same seed, the same permutation
    assert take(per_step.indices(3), 1) != take(stream.indices(3), 1)  # epoch 1: a new seed vs the same generator
    with pytest.raises(ValueError, match="per_step"):
        stream.at(0)
    with pytest.raises(ValueError, match="unknown sampling mode"):
        BatchSampler(7, 2, 0, "shuffled")  # type: ignore[arg-type]


def test_seed_derivation_and_the_step_generator_are_the_old_ones() -> None:
    assert derive_seed(2, 5) == 2 * 1_000_003 + 5
    assert torch.randint(0, 1000, (3,), generator=step_generator(0, 0)).tolist() == [845, 139, 124]
    assert torch.randint(0, 1000, (3,), generator=step_generator(2, 5)).tolist() == [325, 920, 570]


def test_batches_clamp_to_the_data_and_drop_incomplete_ones() -> None:
    sampler = BatchSampler(5, 8, 0, "per_step")  # batch size larger than the data: one full batch per epoch
    assert sorted(sampler.at(0).tolist()) == [0, 1, 2, 3, 4]
    assert BatchSampler(5, 2, 0, "stream").per_epoch == 2  # the fifth item waits for the next epoch
    with pytest.raises(DataError, match="empty"):
        BatchSampler(0, 2, 0)


def test_fetch_and_paired_fetch_load_the_same_items() -> None:
    images = torch.rand(4, 3, 2, 2)
    data = TrainData(TensorImageSet(images), TensorImageSet(1 - images), kind="paired")
    idx = paired_sampler(data, 2, 0).at(1)
    a, b = paired_fetch(data, idx)
    torch.testing.assert_close(a["image"], images[idx])
    torch.testing.assert_close(b["image"], 1 - images[idx])
    plain = [{"image": images[i]} for i in range(4)]  # a dataset without get_batch: items are collated
    torch.testing.assert_close(fetch(plain, idx)["image"], images[idx])  # type: ignore[arg-type]
    with pytest.raises(DataError, match="3 targets"):
        paired_sampler(TrainData(TensorImageSet(images), TensorImageSet(images[:3]), kind="paired"), 2, 0)


@pytest.mark.parametrize("workers", [0, 2])
def test_load_gives_the_same_batches_in_worker_processes(workers: int) -> None:
    images = torch.rand(7, 3, 2, 2)
    a, b = TensorImageSet(images), TensorImageSet(1 - images)
    samplers = [BatchSampler(7, 2, 0, "per_step"), BatchSampler(7, 3, 1, "stream")]
    indices = zip(samplers[0].indices(2), samplers[1].indices(2), strict=False)
    batches = load([a, b], indices, workers=workers, pin_memory=True)  # pinning is a no-op without CUDA
    for step in range(2, 8):
        got_a, got_b = next(batches)
        torch.testing.assert_close(got_a["image"], images[samplers[0].at(step)], rtol=0, atol=0)
        want_b = [idx for _, idx in zip(range(step - 1), samplers[1].indices(2), strict=False)][-1]
        torch.testing.assert_close(got_b["image"], 1 - images[want_b], rtol=0, atol=0)


def test_load_refuses_negative_workers() -> None:
    with pytest.raises(ValueError, match="workers must be >= 0"):
        next(load([TensorImageSet(torch.rand(2, 3, 2, 2))], iter([(torch.tensor([0]),)]), workers=-1))
