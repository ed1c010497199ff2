from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from methods import create_method
from methods.colour_transfer.lab import lab_to_rgb, rgb_to_lab


@pytest.fixture
def images() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(4, 3, 16, 16, generator=g), torch.rand(4, 3, 16, 16, generator=g) * 0.5 + 0.25


def test_input_copy_and_exemplar_copy(images: tuple[torch.Tensor, torch.Tensor]) -> None:
    content, exemplar = images
    assert torch.equal(create_method("input_copy").translate(content, exemplar), content)
    assert torch.equal(create_method("exemplar_copy").translate(content, exemplar), exemplar)
    with pytest.raises(ValueError, match="differ in batch or image size"):
        create_method("exemplar_copy").translate(content, exemplar[:, :, :8])
    one_hot = torch.zeros(4, 151, 16, 16)  # a label-map content: any channel count, the exemplar comes back
    assert torch.equal(create_method("exemplar_copy").translate(one_hot, exemplar), exemplar)


def test_lab_matches_scikit_image_and_round_trips(images: tuple[torch.Tensor, torch.Tensor]) -> None:
    content, _ = images
    ours = rgb_to_lab(content).permute(0, 2, 3, 1).numpy()
    reference = rgb2lab(content.permute(0, 2, 3, 1).double().numpy(), channel_axis=-1)
    np.testing.assert_allclose(ours, reference, atol=2e-3)
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(content)).float(), content, atol=1e-4, rtol=0)


def test_colour_transfer_matches_exemplar_lab_statistics(images: tuple[torch.Tensor, torch.Tensor]) -> None:
    content, exemplar = images
    exemplar = exemplar * 0.6 + 0.2  # keep the result inside the sRGB gamut, so clipping does not move statistics
    out = create_method("colour_transfer").translate(content * 0.5 + 0.25, exemplar)
    lab_out, lab_ex = rgb_to_lab(out), rgb_to_lab(exemplar)
    torch.testing.assert_close(lab_out.mean((2, 3)), lab_ex.mean((2, 3)), atol=0.5, rtol=0)
    torch.testing.assert_close(lab_out.std((2, 3)), lab_ex.std((2, 3)), atol=0.5, rtol=0)


def test_colour_transfer_depends_on_the_exemplar(images: tuple[torch.Tensor, torch.Tensor]) -> None:
    content, exemplar = images
    method = create_method("colour_transfer")
    red = torch.zeros_like(exemplar)
    red[:, 0] = 0.8
    assert not torch.allclose(method.translate(content, exemplar), method.translate(content, red))
    torch.testing.assert_close(method.translate(content, exemplar), method.translate(content, exemplar))
