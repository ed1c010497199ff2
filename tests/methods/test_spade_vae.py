"""SPADE-VAE: label maps are required, the exemplar (never the ground truth) fills the image-encoder slot."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.errors import BenchError
from datasets.base import TensorImageSet, TrainData
from methods import FitContext, create_method
from methods.common.spade import SPADEDiscriminator, SPADEGenerator
from methods.spade_vae import label_indices, one_hot
from methods.spade_vae.networks import ConvEncoder

TINY = {"label_nc": 3, "crop_size": 16, "load_size": None, "flip": False, "ngf": 2, "z_dim": 8, "n_up_blocks": 1,
        "spade_hidden": 8, "encoder_size": 16, "ndf": 4, "n_layers_d": 2, "lambda_vgg": 0.0, "batch_size": 2,
        "steps": 2, "decay_steps": 1, "checkpoint_every": 0}


def labelled(n: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n, 16, 16), generator=g)
    return labels, torch.rand(3, 3, generator=g)[labels].permute(0, 3, 1, 2)


def test_paper_networks_have_the_official_parameter_counts() -> None:
    # measured by building NVlabs/SPADE's generator/encoder/discriminator with the ADE20k VAE options locally
    with torch.device("meta"):
        nets = (SPADEGenerator(151, 256, 64, 256, 4, 128), ConvEncoder(64, 256, 256), SPADEDiscriminator(154))
    assert [sum(p.numel() for p in n.parameters()) for n in nets] == [111_942_595, 10_463_424, 5_836_930]


def test_training_without_label_maps_is_refused(tmp_path: Path) -> None:
    _, photos = labelled()
    data = TrainData(TensorImageSet(photos), TensorImageSet(photos), kind="paired")
    with pytest.raises(BenchError, match="label map"):
        create_method("spade_vae", **TINY).fit(data, FitContext(workdir=tmp_path, progress=False))


def test_translating_an_rgb_image_instead_of_a_label_map_is_refused() -> None:
    _, photos = labelled()
    method = create_method("spade_vae", **TINY)  # label_nc 3: an RGB image has the right number of channels
    with pytest.raises(BenchError, match="not a one-hot map"):
        method.translate(photos, photos)


def test_the_exemplar_fills_the_encoder_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    labels, photos = labelled()
    method = create_method("spade_vae", **{**TINY, "test_sample": "mean"})
    seen: list[torch.Tensor] = []
    forward = method.E.forward
    monkeypatch.setattr(method.E, "forward", lambda x: seen.append(x) or forward(x))
    exemplar = photos.flip(0)
    out = method.translate(labels, exemplar)
    assert len(seen) == 1 and torch.allclose(seen[0], exemplar * 2 - 1)  # the exemplar, in the tanh range
    assert out.shape == (4, 3, 16, 16)
    assert not torch.allclose(out, method.translate(labels, photos), atol=1e-7)
    assert torch.equal(out, method.translate(labels, exemplar, seed=9))  # μ: the seed plays no part


def test_posterior_sampling_follows_the_seed() -> None:
    labels, photos = labelled(2)
    method = create_method("spade_vae", **TINY)  # official: z sampled from the exemplar's posterior
    assert torch.equal(method.translate(labels, photos, seed=1), method.translate(labels, photos, seed=1))
    assert not torch.equal(method.translate(labels, photos, seed=1), method.translate(labels, photos, seed=2))


def test_label_map_formats() -> None:
    labels, _ = labelled(2)
    assert torch.equal(label_indices(labels, 3), labels.unsqueeze(1))
    assert torch.equal(label_indices(one_hot(labels.unsqueeze(1), 3), 3), labels.unsqueeze(1))
    with pytest.raises(BenchError, match=r"\[0, 2\)"):
        label_indices(labels, 2)


def test_training_labels_come_from_the_one_hot_input_where_given() -> None:
    """Label-map protocols keep unlabeled pixels as 255 in ``label_map`` and put them in ``input``'s don't-care
    channel (contract §2): training reads the one-hot input, so real data with unlabeled pixels trains."""
    method = create_method("spade_vae", **TINY)
    label_map = torch.tensor([[[0, 1], [255, 1]]])
    onehot = one_hot(torch.tensor([[[[0, 1], [2, 1]]]]), 3)  # channel 2 = don't-care
    assert method._labels_of({"input": onehot, "label_map": label_map}).tolist() == [[[[0, 1], [2, 1]]]]
    with pytest.raises(BenchError, match="must lie in"):
        method._labels_of({"label_map": label_map})
