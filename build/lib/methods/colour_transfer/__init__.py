"""``colour_transfer``: Reinhard et al. (2001) colour transfer, in CIE L*a*b* instead of lαβ.

Each Lab channel of the input is shifted and scaled so that its mean and standard deviation over the image match
the exemplar's: ``out = (x - mean_x) / std_x * std_e + mean_e``. Not learned; a classical bound that any learned
method should beat on exemplar fidelity without losing the content.
"""

from __future__ import annotations

import torch

from methods import METHODS
from methods.base import Capabilities, Direction, Method
from methods.colour_transfer.lab import lab_to_rgb, rgb_to_lab


def reinhard_transfer(content: torch.Tensor, exemplar: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    src, ref = rgb_to_lab(content), rgb_to_lab(exemplar)
    mu_s, sd_s = src.mean(dim=(2, 3), keepdim=True), src.std(dim=(2, 3), keepdim=True, unbiased=False)
    mu_r, sd_r = ref.mean(dim=(2, 3), keepdim=True), ref.std(dim=(2, 3), keepdim=True, unbiased=False)
    # A flat channel (e.g. a/b of a grey input; eps is in Lab units, far below a visible difference) has no spread
    # to rescale: it moves to the exemplar's mean only, instead of amplifying rounding noise.
    out = (src - mu_s) * torch.where(sd_s > eps, sd_r / sd_s.clamp_min(eps), torch.zeros_like(sd_s)) + mu_r
    return lab_to_rgb(out).to(content.dtype)


@METHODS.register("colour_transfer")
class ColourTransfer(Method):
    capabilities = Capabilities(training="none", guidance="exemplar",
                                notes="Reinhard mean/std transfer in Lab; not learned")

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0) -> torch.Tensor:
        if exemplar is None:
            raise ValueError("colour_transfer needs an exemplar")
        return reinhard_transfer(content, exemplar)
