"""``singan``: SinGAN (Shaham, Dekel & Michaeli, ICCV 2019) in its editing ("paste") mode, the single-image GAN
baseline of Semantic Image Analogy (SIA §4.3.2, Fig. 5).

Per test case a pyramid of patch GANs is trained coarse to fine on the source image alone (WGAN-GP critic, a
reconstruction loss with the fixed noise z* at the coarsest scale, noise amplitude per scale from the reconstruction
RMSE). To translate, a naive composite of the source image under the target layout (``composite.py``) is
downsampled, injected at scale ``inject_scale`` and refined by the finer generators with fresh noise; the result is
blended into the source image through the dilated, blurred edit mask (official ``editing.py``). Every parameter
default is the official code's (tamarott/SinGAN ``config.py``); methods/singan/README.md maps paper and code.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import BenchError, DataError
from datasets.base import TrainData
from methods import METHODS
from methods.base import Capabilities, Direction, FitContext, Method
from methods.common.training import require_kind
from methods.singan.composite import composite_batch
from methods.singan.networks import (
    ScaleCritic,
    ScaleGenerator,
    gradient_penalty,
    init_weights,
    pyramid_sizes,
    resize,
    scale_width,
)
from methods.training import TrainLoop, check_finite


def class_ids(maps: torch.Tensor, what: str) -> torch.Tensor:
    """Class indices [N,H,W] from one-hot float maps [N,C,H,W] (argmax) or index maps [N,H,W] / [N,1,H,W]."""
    if maps.is_floating_point() and maps.dim() == 4 and maps.size(1) > 1:
        return maps.argmax(1)
    if maps.dim() == 4 and maps.size(1) == 1:
        maps = maps[:, 0]
    if maps.dim() != 3:
        raise BenchError(f"singan: {what} must be one-hot [N,C,H,W] or class maps [N,H,W], got {tuple(maps.shape)}",
                         hint="pass the protocol's label maps")
    return maps.round().long() if maps.is_floating_point() else maps.long()


@METHODS.register("singan")
class SinGAN(Method):
    capabilities = Capabilities(
        training="single_image", guidance="exemplar", directions="AB", needs_label_maps=True,
        needs_exemplar_labels=True,
        notes="SinGAN editing: trained per case on the source image; the composite of the source under the target "
              "layout is injected at inject_scale and refined by the finer scales",
    )
    defaults: ClassVar[dict[str, Any]] = {
        "scale_factor": 0.75, "min_size": 25, "max_size": 250, "nfc": 32, "max_nfc": 128, "num_layer": 5,
        "niter": 2000, "steps": None, "decay_fraction": 0.8, "gamma": 0.1, "lr_g": 5e-4, "lr_d": 5e-4,
        "beta1": 0.5, "beta2": 0.999, "d_steps": 3, "g_steps": 3, "lambda_grad": 0.1, "alpha": 10.0,
        "noise_amp": 0.1, "inject_scale": 1, "mask_dilation": 20, "mask_blur": 5.0, "checkpoint_every": 0,
        "log_every": 10,
    }

    @classmethod
    def check_params(cls, params: Any) -> None:
        if not 0.0 < float(params["scale_factor"]) < 1.0:
            raise BenchError(f"singan: scale_factor must lie in (0, 1), got {params['scale_factor']}",
                             hint="the official value is 0.75")
        if int(params["inject_scale"]) < 1:
            raise BenchError(f"singan: inject_scale must be ≥ 1, got {params['inject_scale']}",
                             hint="scale 0 is the coarsest; editing injects at 1 .. number of scales − 1")
        if int(params["num_layer"]) < 3:
            raise BenchError("singan: num_layer must be ≥ 3 (head, body, tail)", hint="the official value is 5")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.G, self.D = nn.ModuleList(), nn.ModuleList()
        self.sizes: list[tuple[int, int]] = []
        self.amps: list[float] = []
        self.z_opt = torch.zeros(0)
        self.done = 0  # scales whose training finished
        self.fitted = False
        self._opt: dict[str, torch.optim.Optimizer] = {}
        self._z_prev: dict[int, torch.Tensor] = {}

    # -- networks and checkpoints -------------------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def parameter_counts(self, trainable_only: bool = True) -> dict[str, int]:
        """Weights of the whole pyramid per network kind: finished scales are frozen (``requires_grad=False``, as
        the official ``reset_grads``) but learned, so they count whatever ``trainable_only`` says."""
        return {name: sum(p.numel() for p in net.parameters()) for name, net in self.networks().items()}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return self._opt

    def _widths(self) -> list[int]:
        return [scale_width(k, self.params["nfc"], self.params["max_nfc"]) for k in range(len(self.sizes))]

    def _add_scale(self) -> None:
        """Append G_k, D_k of the next scale, initialised as the official ``init_models`` (copied from scale k−1
        when the width is unchanged, ``training.train``)."""
        k, width, layers = len(self.G), self._widths()[len(self.G)], self.params["num_layer"]
        g, d = ScaleGenerator(width, layers), ScaleCritic(width, layers)
        g.apply(init_weights)
        d.apply(init_weights)
        if k > 0 and self._widths()[k - 1] == width:
            g.load_state_dict(self.G[k - 1].state_dict())
            d.load_state_dict(self.D[k - 1].state_dict())
        self.G.append(g.to(self.device))
        self.D.append(d.to(self.device))

    def _new_optimisers(self) -> None:
        p, betas = self.params, (self.params["beta1"], self.params["beta2"])
        self._opt = {"G": torch.optim.Adam(self.G[-1].parameters(), lr=p["lr_g"], betas=betas),
                     "D": torch.optim.Adam(self.D[-1].parameters(), lr=p["lr_d"], betas=betas)}

    def state_dict(self) -> dict[str, Any]:
        return {"pyramid": {"sizes": [list(s) for s in self.sizes], "amps": list(self.amps), "done": self.done,
                            "scales": len(self.G), "fitted": self.fitted},
                "z_opt": self.z_opt.detach().cpu(), "G": self.G.state_dict(), "D": self.D.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild the pyramid the state describes, then load its weights (the scale count is data-dependent)."""
        meta = state["pyramid"]
        self.sizes = [tuple(s) for s in meta["sizes"]]  # type: ignore[misc]
        self.amps, self.done, self.fitted = list(meta["amps"]), int(meta["done"]), bool(meta["fitted"])
        self.G, self.D, self._z_prev = nn.ModuleList(), nn.ModuleList(), {}
        for _ in range(int(meta["scales"])):
            self._add_scale()
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.z_opt = state["z_opt"].to(self.device)
        for k in range(self.done):  # finished scales run in eval mode (BatchNorm running statistics)
            for net in (self.G[k], self.D[k]):
                net.eval().requires_grad_(False)
        self._opt = {}
        if len(self.G) > self.done:  # mid-scale: the base class then loads the optimiser states
            self._new_optimisers()

    # -- the two paths through the trained scales ----------------------------------------------------------------
    def _noise(self, k: int, n: int, size: tuple[int, int], gen: torch.Generator | None = None) -> torch.Tensor:
        """Scale 0 draws one channel repeated over RGB, the others three (``functions.generate_noise``, nc_z)."""
        c = 1 if k == 0 else 3
        z = torch.randn(n, c, *size, generator=gen, device="cpu" if gen is not None else self.device)
        return z.to(self.device).expand(n, 3, *size)

    def _through(self, start: torch.Tensor, first: int, last: int, noises: list[torch.Tensor]) -> torch.Tensor:
        """Run G_first .. G_{last−1} from ``start`` (at scale ``first``) with ``noises``; the output is resized to
        scale ``last`` (``training.draw_concat`` / ``manipulate.SinGAN_generate``)."""
        x = start
        for k, z in zip(range(first, last), noises, strict=True):
            x = resize(self.G[k](self.amps[k] * z + x, x), self.sizes[k + 1])
        return x

    def _rec_prev(self, k: int) -> torch.Tensor:
        """The reconstruction of scale k's input: z* at scale 0, zero noise above (``draw_concat(..., 'rec')``)."""
        if k not in self._z_prev:
            with torch.no_grad():
                zeros = torch.zeros(1, 3, *self.sizes[0], device=self.device)
                noises = [self.z_opt] + [torch.zeros(1, 3, *self.sizes[j], device=self.device) for j in range(1, k)]
                self._z_prev[k] = self._through(zeros, 0, k, noises[:k]) if k > 0 else zeros
        return self._z_prev[k]

    def _rand_prev(self, k: int) -> torch.Tensor:
        """A random sample of the coarser scales, upsampled to scale k (``draw_concat(..., 'rand')``)."""
        with torch.no_grad():
            zeros = torch.zeros(1, 3, *self.sizes[0], device=self.device)
            return self._through(zeros, 0, k, [self._noise(j, 1, self.sizes[j]) for j in range(k)])

    def generate(self, reconstruct: bool, seed: int = 0) -> torch.Tensor:
        """A full-pyramid output [1,3,H,W] in [-1,1] at the finest scale: the reconstruction (z* at scale 0, zero
        noise above) or a random sample (``seed``); the paper's Fig. 4 / §2.1 reconstruction check."""
        last, gen = len(self.sizes) - 1, torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            zeros = torch.zeros(1, 3, *self.sizes[0], device=self.device)
            noises = [self.z_opt if reconstruct else self._noise(0, 1, self.sizes[0], gen)]
            noises += [torch.zeros(1, 3, *s, device=self.device) if reconstruct else self._noise(k, 1, s, gen)
                       for k, s in enumerate(self.sizes[1:], 1)]
            x = self._through(zeros, 0, last, noises[:last])
            return self.G[last](self.amps[last] * noises[last] + x, x)

    # -- training -----------------------------------------------------------------------------------------------
    def _schedule(self, scales: int) -> list[int]:
        """Iterations per scale: ``niter`` each (official) or ``steps`` in total, spread evenly (finer scales get
        the remainder)."""
        steps = self.params["steps"]
        if steps is None:
            return [int(self.params["niter"])] * scales
        if int(steps) < scales:
            raise BenchError(f"singan: steps={steps} is fewer than the pyramid's {scales} scales",
                             hint=f"set steps ≥ {scales}, or steps=null for niter per scale")
        base, extra = divmod(int(steps), scales)
        return [base + (1 if k >= scales - extra else 0) for k in range(scales)]

    def _start_scale(self, k: int, real: torch.Tensor) -> None:
        """Build scale k; draw z* (scale 0) and set the noise amplitude σ_k = noise_amp · RMSE(x_k, rec↑) (§2.1)."""
        self._add_scale()
        self._new_optimisers()
        if k == 0:
            self.z_opt = self._noise(0, 1, self.sizes[0]).clone()
            self.amps.append(1.0)
        else:
            rmse = torch.sqrt(F.mse_loss(self._rec_prev(k), real))
            self.amps.append(float(self.params["noise_amp"]) * float(rmse))

    def _iteration(self, k: int, i: int, iters: int, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """One iteration at scale k: d_steps critic updates, then g_steps generator updates (``train_single_scale``;
        the generator recomputes its fake each step instead of reusing the critic step's graph)."""
        p = self.params
        decay = p["gamma"] if i >= round(p["decay_fraction"] * iters) else 1.0  # MultiStepLR milestone 1600 of 2000
        for name, opt in self._opt.items():
            for group in opt.param_groups:
                group["lr"] = p["lr_g" if name == "G" else "lr_d"] * decay
        g, d, amp = self.G[k].train(), self.D[k].train(), self.amps[k]
        noise = self._noise(k, 1, self.sizes[k])
        z_rec = self.z_opt if k == 0 else torch.zeros(1, 3, *self.sizes[k], device=self.device)
        z_prev = self._rec_prev(k)
        prev = z_prev
        for _ in range(int(p["d_steps"])):
            prev = self._rand_prev(k)
            d.zero_grad(set_to_none=True)
            fake = g(amp * noise + prev, prev).detach()
            d_real, d_fake = -d(real).mean(), d(fake).mean()
            gp = gradient_penalty(d, real, fake, p["lambda_grad"])
            (d_real + d_fake + gp).backward()
            self._opt["D"].step()
        for _ in range(int(p["g_steps"])):
            g.zero_grad(set_to_none=True)
            adv = -d(g(amp * noise + prev, prev)).mean()
            rec = p["alpha"] * F.mse_loss(g(amp * z_rec + z_prev, z_prev), real)
            (adv + rec).backward()
            self._opt["G"].step()
        return {"d": d_real + d_fake + gp, "gp": gp, "g_adv": adv, "rec": rec, "scale": torch.tensor(float(k))}

    def _finish_scale(self, k: int) -> None:
        for net in (self.G[k], self.D[k]):
            net.eval().requires_grad_(False)
        self.done, self._opt = k + 1, {}

    def fit(self, data: TrainData, ctx: FitContext) -> None:
        """Train the pyramid on ``data.b[0]["image"]`` (contract §1; re-initialised per call). Resumes from
        ``ctx.workdir/last.pt``, which is also written at the end of every scale."""
        require_kind("singan", data, "single_image")
        image = data.b[0]["image"]
        if image.dim() != 3 or image.size(0) != 3:
            raise DataError(f"singan: the source image must be [3,H,W], got {tuple(image.shape)}",
                            hint="single_image data holds the source image as data.b[0]['image']")
        p = self.params
        try:
            self.sizes = pyramid_sizes(image.size(1), image.size(2), p["scale_factor"], p["min_size"], p["max_size"])
        except ValueError as exc:
            raise DataError(f"singan: {exc}", hint="lower min_size or use a larger image") from exc
        self.G, self.D, self.amps, self.done, self.fitted, self._opt, self._z_prev = (
            nn.ModuleList(), nn.ModuleList(), [], 0, False, {}, {})
        torch.manual_seed(ctx.seed)
        full = image.float().unsqueeze(0).to(self.device) * 2 - 1
        reals = [resize(full, s) for s in self.sizes]
        iters = self._schedule(len(self.sizes))
        bounds = [sum(iters[:k]) for k in range(len(iters) + 1)]
        loop = TrainLoop(self, ctx, steps=bounds[-1], checkpoint_every=p["checkpoint_every"], log_every=p["log_every"])
        for step in loop:
            k = max(j for j in range(len(iters)) if bounds[j] <= step)
            if len(self.G) == k:
                self._start_scale(k, reals[k])
            losses = self._iteration(k, step - bounds[k], iters[k], reals[k])
            loop.report(step, losses)
            if step + 1 == bounds[k + 1]:
                self._finish_scale(k)
                self.fitted = k + 1 == len(iters)
                if step + 1 < bounds[-1]:
                    loop.save(step + 1)  # the per-scale checkpoint: a killed case resumes at the next scale
        self.eval_mode()

    # -- inference ----------------------------------------------------------------------------------------------
    def _ensure_pyramid(self, size: tuple[int, int]) -> None:
        """An unfitted model translates with freshly initialised scales (seeded), like any untrained network."""
        if self.G and len(self.G) == len(self.sizes):
            return
        p = self.params
        self.sizes = pyramid_sizes(*size, p["scale_factor"], min(p["min_size"], min(size)), p["max_size"])
        self.G, self.D, self.done = nn.ModuleList(), nn.ModuleList(), 0
        with torch.random.fork_rng():
            torch.manual_seed(0)
            for _ in self.sizes:
                self._add_scale()
            self.z_opt = self._noise(0, 1, self.sizes[0]).clone()
        self.amps = [1.0] + [float(p["noise_amp"])] * (len(self.sizes) - 1)
        self.eval_mode()

    def translate(self, content: torch.Tensor, exemplar: torch.Tensor | None, direction: Direction = "AB",
                  seed: int = 0, exemplar_labels: torch.Tensor | None = None) -> torch.Tensor:
        """content: the target layout (one-hot [N,C,H,W] or class map); exemplar: the source image [N,3,h,w] in
        [0,1]; exemplar_labels: its layout. Returns [N,3,H,W] in [0,1]; ``seed`` draws the refinement noise.
        ``BenchError`` for BA, a missing exemplar or label map, or an injection scale the pyramid lacks."""
        if direction != "AB":
            raise BenchError(f"singan edits the source image under a target layout; it cannot translate {direction}")
        if exemplar is None or exemplar_labels is None:
            raise BenchError("singan needs the source image and its label map",
                             hint="pass exemplar= and exemplar_labels= (protocols do for needs_exemplar_labels)")
        target, source_ids = class_ids(content, "content"), class_ids(exemplar_labels, "exemplar_labels")
        out_size = tuple(target.shape[-2:])
        self._ensure_pyramid(tuple(exemplar.shape[-2:]))  # type: ignore[arg-type]
        n, last = int(self.params["inject_scale"]), len(self.sizes) - 1
        if n > last:
            raise BenchError(f"singan: inject_scale={n} but the pyramid has scales 0..{last}",
                             hint=f"set inject_scale between 1 and {max(1, last)}")
        fine = self.sizes[-1]
        src = resize(exemplar.float().to(self.device), fine).clamp(0, 1)

        def nearest(ids: torch.Tensor) -> torch.Tensor:
            return F.interpolate(ids[:, None].float(), size=fine, mode="nearest")[:, 0].long()

        comp, mask = composite_batch(src, nearest(source_ids), nearest(target), int(self.params["mask_dilation"]),
                                     float(self.params["mask_blur"]))
        gen = torch.Generator().manual_seed(int(seed))
        self.eval_mode()
        with torch.no_grad():
            start = resize(resize(comp * 2 - 1, self.sizes[n - 1]), self.sizes[n])  # official editing.py in_s
            noises = [self._noise(k, src.size(0), self.sizes[k], gen) for k in range(n, last + 1)]
            x = start
            for k, z in zip(range(n, last + 1), noises, strict=True):
                x = self.G[k](self.amps[k] * z + x, x)
                x = resize(x, self.sizes[k + 1]) if k < last else x
            out = (1 - mask) * src + mask * (x + 1) / 2  # out = (1 − mask)·real + mask·out
        out = F.interpolate(out, size=out_size, mode="bilinear", align_corners=False) if fine != out_size else out
        return check_finite("singan", out.clamp(0.0, 1.0))
