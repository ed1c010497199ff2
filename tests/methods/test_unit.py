"""UNIT specifics: the paper network's weight sharing, the shared latent with unit-variance noise, sizes."""

from __future__ import annotations

import torch

from methods import create_method
from methods.common.images import to_signed
from methods.unit.losses import sample_latent
from tests.methods.conftest import preset_params, toy_domains


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_preset_matches_the_official_parameter_counts() -> None:
    # measured by building the official version_02 COCOResGen2 and COCOMsDis (n_layer 4): 18,017,286 and
    # 9,308,934 for the pair of discriminators
    counts = create_method("unit", **preset_params("unit", "paper")).parameter_counts()
    assert counts == {"gen": 18_017_286, "D_A": 4_654_467, "D_B": 4_654_467}


def test_last_encoder_and_first_decoder_layers_are_shared() -> None:
    gen = create_method("unit", **preset_params("unit", "smoke")).nets["gen"]
    calls: list[str] = []
    for name, module in gen.shared_modules().items():
        module.register_forward_hook(lambda *_, n=name: calls.append(n))
    a, b = (to_signed(x) for x in toy_domains(1))
    gen.decode(gen.encode(a, "A"), "B")
    gen.decode(gen.encode(b, "B"), "A")
    assert calls == ["enc_shared", "dec_shared"] * 2  # both domains run through the same two modules
    # one copy of the shared layers: the total is two private encoders and decoders plus the shared ones
    private = sum(_count(m) for m in (*gen.enc.values(), *gen.dec.values()))
    assert _count(gen) == private + _count(gen.enc_shared) + _count(gen.dec_shared)
    # a loss on domain A alone trains the shared layers and A's private layers, never B's
    gen.zero_grad()
    gen.decode(gen.encode(a, "A"), "A").mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gen.enc_shared.parameters())
    assert all(p.grad is not None for p in gen.dec_shared.parameters())
    assert all(p.grad is None for p in (*gen.enc["B"].parameters(), *gen.dec["B"].parameters()))


def test_latent_is_sampled_in_training_and_the_mean_is_used_to_translate() -> None:
    mu = torch.zeros(2000, 4)
    z = sample_latent(mu)
    assert abs(z.std().item() - 1.0) < 0.05 and abs(z.mean().item()) < 0.05  # q(z|x) = N(μ, I)
    method = create_method("unit", **preset_params("unit", "smoke"))
    a, _ = toy_domains(2)
    torch.testing.assert_close(method.translate(a, None, "AB", seed=0), method.translate(a, None, "AB", seed=1))


def test_paper_preset_runs_on_mnist_sized_images() -> None:
    create_method("unit", **preset_params("unit", "paper")).check_image_size(28, 28)
