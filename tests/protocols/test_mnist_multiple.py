"""The mnist_multiple protocol: sample counts, SSIM against the exact ground truth (chunked evaluation equals a
direct computation), Table 5 reported rows, figures (grid + t-SNE)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from methods import create_method
from methods.base import Capabilities, Method
from metrics.ssim import ssim_per_image
from protocols import PROTOCOLS
from protocols.mnist_multiple import to_tensor


@pytest.fixture(autouse=True)
def single_thread():  # type: ignore[no-untyped-def]
    """Small convolutions (SSIM windows) run faster on one thread than on two on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(scale: str = "smoke", **samples: int):  # type: ignore[no-untyped-def]
    cls = PROTOCOLS.get("mnist_multiple")
    settings = {"ssim": {}, "samples": {scale: samples or {"train": 20, "test": 12}}, "grid_rows": 2,
                "batch_size": 5, "tsne": {"samples": {scale: 12}}}
    protocol = cls(settings, {}, {"name": scale})
    protocol.prepare()
    return protocol


def test_sample_counts_and_training_data() -> None:
    protocol = make()
    assert protocol.sample_counts() == {"train": 20, "test": 12}
    data = protocol.train_data()
    assert data.kind == "unpaired" and len(data.a) == 20 and data.meta["name"] == "mnist_multiple"
    assert data.b.get_batch(torch.tensor([0, 1]))["image"].shape == (2, 3, 112, 112)
    assert make("cpu", train=None, test=None).sample_counts() == {"train": 1437, "test": 360}


def test_chunked_evaluation_equals_a_direct_ssim_computation() -> None:
    protocol = make()
    result = protocol.evaluate(create_method("input_copy"))
    test = protocol.test_split()
    idx = np.arange(len(test))
    expected = ssim_per_image(to_tensor(test.b(idx)), to_tensor(test.gt_b2a(idx)))
    value = result.values[("ssim", "B→A")]
    assert value.n == 12 and abs(value.value - expected.mean().item()) < 1e-9
    assert abs(value.std - expected.std(unbiased=False).item()) < 1e-9
    luma = ssim_per_image(to_tensor(test.b(idx)), to_tensor(test.gt_b2a(idx)), colour="luma")
    value = result.values[("ssim_luma", "B→A")]
    assert value.n == 12 and abs(value.value - luma.mean().item()) < 1e-9
    assert value.extra["settings"]["colour"].startswith("ITU-R BT.601 luma")
    assert result.samples["AB"].shape == (2, 3, 112, 112) and len(result.samples["tsne_AB"]) == 12


def test_an_oracle_that_returns_the_ground_truth_scores_one() -> None:
    protocol = make()
    test = protocol.test_split()

    class Oracle(Method):
        capabilities = Capabilities(training="none", guidance="exemplar")

        def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
            # identify the test images of this chunk by their content, then return their ground truth
            kind = test.a if direction == "AB" else test.b
            truth = test.gt_a2b if direction == "AB" else test.gt_b2a
            all_content = to_tensor(kind())
            idx = [int((all_content == c).flatten(1).all(1).nonzero()[0]) for c in content]
            return to_tensor(truth(np.array(idx)))

    result = protocol.evaluate(Oracle())
    assert all(abs(v.value - 1.0) < 1e-9 for v in result.values.values())


def test_reported_rows_are_table5() -> None:
    rows = {(r.method, r.translation): (r.value, r.std) for r in make().reported()}
    assert rows[("egscit", "A→B")] == (0.503, 0.035) and rows[("egscit", "B→A")] == (0.495, 0.036)
    assert rows[("cyclegan", "A→B")] == (0.145, 0.213) and rows[("munit", "B→A")] == (0.501, 0.036)
    assert {m for m, _ in rows} == {"cyclegan", "unit", "munit", "egscit"}
    assert all(r.source == "reported: EGSC-IT (ICLR 2019) Table 5" for r in make().reported())


def test_figures_include_the_grid_and_the_tsne(tmp_path: Path) -> None:
    protocol = make()
    samples = {name: protocol.evaluate(create_method(name)).samples for name in ("input_copy", "exemplar_copy")}
    paths = protocol.write_figures(samples, tmp_path)
    assert [p.name for p in paths] == ["grid.png", "tsne.png"] and all(p.stat().st_size > 0 for p in paths)
