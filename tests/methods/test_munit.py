"""MUNIT specifics: paper-preset sizes, the exemplar path through the target style encoder, style codes."""

from __future__ import annotations

import pytest
import torch

from core.errors import BenchError
from methods import create_method
from methods.common.blocks import num_adain_params
from methods.common.images import to_signed, to_unit
from tests.methods.conftest import preset_params, toy_domains


def test_paper_preset_matches_the_official_parameter_counts() -> None:
    # measured by building the official NVlabs/MUNIT AdaINGen and MsImageDis with configs/edges2shoes_folder.yaml
    method = create_method("munit", **preset_params("munit", "paper"))
    assert method.parameter_counts() == {"gen_A": 15_026_187, "gen_B": 15_026_187,
                                         "D_A": 8_271_171, "D_B": 8_271_171}
    gen = method.nets["gen_A"]
    assert num_adain_params(gen.dec) == 4 * 2 * 2 * 256  # 4 blocks × 2 AdaIN layers × (mean, std) × 256 channels
    assert gen.enc_style(torch.zeros(1, 3, 64, 64)).shape == (1, 8, 1, 1)


def test_paper_preset_refuses_images_its_discriminator_cannot_judge() -> None:
    method = create_method("munit", **preset_params("munit", "paper"))
    with pytest.raises(BenchError, match="28×28"):
        method.check_image_size(28, 28)
    create_method("munit", **preset_params("munit", "cpu")).check_image_size(28, 28)


def test_exemplar_style_comes_from_the_target_domain_style_encoder() -> None:
    method = create_method("munit", **preset_params("munit", "smoke"))
    a, b = toy_domains(2)
    gen_a, gen_b = method.nets["gen_A"], method.nets["gen_B"]
    with torch.no_grad():
        want_ab = to_unit(gen_b.decode(gen_a.enc_content(to_signed(a)), gen_b.enc_style(to_signed(b))))
        want_ba = to_unit(gen_a.decode(gen_b.enc_content(to_signed(b)), gen_a.enc_style(to_signed(a))))
    torch.testing.assert_close(method.translate(a, b, "AB"), want_ab)
    torch.testing.assert_close(method.translate(b, a, "BA"), want_ba)
    one = method.translate(a, b[:1], "AB")  # one exemplar styles the whole batch
    torch.testing.assert_close(one[1:], method.translate(a[1:], b[:1], "AB"))


def test_style_code_steers_the_output() -> None:
    method = create_method("munit", **preset_params("munit", "smoke"))
    a, _ = toy_domains(1)
    gen_a, gen_b = method.nets["gen_A"], method.nets["gen_B"]
    with torch.no_grad():
        content = gen_a.enc_content(to_signed(a))
        outs = [gen_b.decode(content, torch.full((1, 8, 1, 1), v)) for v in (-1.0, 1.0)]
    assert (outs[0] - outs[1]).abs().max() > 1e-3
    # without an exemplar the style is drawn from N(0, I): the seed picks it
    torch.testing.assert_close(method.translate(a, None, "AB", seed=4), method.translate(a, None, "AB", seed=4))
    assert (method.translate(a, None, "AB", seed=4) - method.translate(a, None, "AB", seed=5)).abs().max() > 1e-3
