"""VGG-19 feature metrics of exemplar-guided translation: Gram style loss (MSCA), semantic consistency and style
relevance (CoCosNet). All use torchvision's ImageNet VGG-19 (manifest ``vgg19``) on [0,1] RGB with ImageNet
mean/std normalisation, at the images' own resolution, features and statistics in float64.

Definitions, where the papers are vague (each choice is a setting and part of the protocol hash):

- ``style_loss`` (MSCA Table 1 cites Gatys et al., arXiv 1508.06576, for L_style and gives no formula):
  Gatys' E_l = 1/(4 N_l² M_l²) Σ_ij (G_ij − A_ij)², G = F Fᵀ of the N_l × M_l feature matrix (channels × positions),
  on relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 with w_l = 1/5, summed. Gatys used Caffe VGG-19 on mean-subtracted
  [0,255] input; torchvision's VGG-19 on normalised [0,1] input gives different magnitudes, so our values are not
  numerically comparable with MSCA's table. Reference: the exemplar by default (``reference="ground_truth"`` for
  output vs ground truth); in MSCA's duplicating task the two coincide, in mirroring Gram matrices are invariant to
  the mirror up to border effects.
- ``semantic_consistency`` (CoCosNet §4: "use its high-level features maps, relu3_2, relu4_2 and relu5_2 ... We
  calculate the cosine similarity for these layers and take the average"; no code was released): the paper gives one
  cosine per *layer*, so the vector is the layer's whole feature map, flattened (C·H·W) — output vs ground truth,
  averaged over the three layers, then over the test set. The flattened map keeps the spatial layout, so a
  translation that moves or drops semantics loses similarity (what the paper says the score checks: "the output
  should not alter the input semantics"); the reference notes' recipe (official-implementations.md §7.3) reads it
  the same way. ``cosine="per_position"`` (mean over positions of the cosine between channel vectors) is the other
  reading, a setting.
- ``style_relevance`` (CoCosNet §4: "low level features relu1_2 and relu2_2 respectively to measure the colour and
  texture distance between the semantically corresponding patches in the output and the exemplar"; no code was
  released): colour = cosine of the channel-wise means of relu1_2, texture = cosine of the channel-wise standard
  deviations of relu2_2 (a mean carries no texture; std is the first-order texture statistic of the AdaIN/WCT
  literature and the reference notes' recall of the paper's definition, §4e; ``gram`` and ``mean_std`` are
  settings). "Semantically corresponding patches" = the regions of the same class in the output's label map (the
  input label map) and the exemplar's label map; see ``StyleRelevance`` for the pairing and what is left out.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from core import features
from metrics import METRICS
from metrics.base import (
    Metric,
    MetricInputError,
    MetricValue,
    PairedMetric,
    check_min_size,
    check_unit_range,
    describe,
    exact_matmul,
    resolve_device,
)
from metrics.regions import class_masks, label_ids, match_regions


class _VGGMetric(Metric):
    pretrained_network = "VGG-19 (the VGG metrics' features)"
    implementation = "bench (torchvision VGG-19)"

    def __init__(self, allow_uncalibrated: bool = False, device: str | None = None, batch_size: int = 16,
                 seed: int = 0) -> None:
        self.device = resolve_device(device)
        # random weights (allow_uncalibrated): the features stack alone, Kaiming-initialised under ``seed``
        self.vgg = features.get("vgg19", init="features", allow_uncalibrated=allow_uncalibrated, seed=seed,
                                device=self.device)
        self.batch_size, self.seed = batch_size, seed

    @property
    def calibrated(self) -> bool:
        return self.vgg.calibrated

    def settings(self) -> dict[str, Any]:
        return super().settings() | self.vgg.settings() | {"resolution": "as given (no resize)"}

    def features(self, images: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
        if images.ndim != 4 or images.shape[1] != 3:
            raise MetricInputError(f"{self.name} expects [N,3,H,W] RGB images, got shape {tuple(images.shape)}",
                                   hint="give RGB images stacked as [N,3,H,W]")
        deepest = max(layers, key=smallest_input)
        check_min_size(images, smallest_input(deepest), self.name, f"the smallest input VGG-19 {deepest} accepts",
                       f"upsample the images to at least {smallest_input(deepest)} px (and record the filter)")
        check_unit_range(images)
        with exact_matmul():
            return {k: v.to(torch.float64) for k, v in self.vgg(images.to(self.device, torch.float32), layers).items()}

    def batched(self, fn: Any, *tensors: torch.Tensor | None) -> torch.Tensor:
        """Run ``fn`` over aligned batches of the given tensors (None passes through), concatenating [B] results."""
        n = tensors[0].shape[0]
        if n == 0:
            raise MetricInputError(f"{self.name}: no images given", hint="give at least one image pair")
        out = []
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                out.append(fn(*(t[start:start + self.batch_size] if t is not None else None for t in tensors)))
        return torch.cat(out).cpu()


def smallest_input(layer: str) -> int:
    """Smallest side VGG-19 accepts up to ``relu<block>_<i>``: block b follows b−1 2×2 max-pools."""
    return 2 ** (int(layer.removeprefix("relu").split("_")[0]) - 1)


def gram(features: torch.Tensor) -> torch.Tensor:
    """[B,C,C] Gram matrices F Fᵀ of [B,C,H,W] features (unnormalised, as Gatys)."""
    flat = features.flatten(2)
    return flat @ flat.transpose(1, 2)


STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@METRICS.register("style_loss")
class StyleLoss(_VGGMetric, PairedMetric):
    """Gatys Gram-matrix style loss on VGG-19 relu1_1..relu5_1 (MSCA's L_style), output vs exemplar by default."""

    direction = "lower"
    best = 0.0
    version = "1"

    def __init__(self, reference: str = "exemplar", layers: tuple[str, ...] = STYLE_LAYERS,
                 layer_weights: tuple[float, ...] | None = None, **kwargs: Any) -> None:
        if reference not in ("exemplar", "ground_truth"):
            raise MetricInputError(f"style_loss reference must be 'exemplar' or 'ground_truth', got {reference!r}",
                                   hint="reference=exemplar (the metric's default) or ground_truth; in a protocol: "
                                        "protocol.style_loss.reference=")
        super().__init__(**kwargs)
        self.reference, self.layers = reference, tuple(layers)
        self.layer_weights = tuple(layer_weights) if layer_weights else tuple(1 / len(layers) for _ in layers)

    def settings(self) -> dict[str, Any]:
        return super().settings() | {
            "definition": "Gatys: sum_l w_l/(4 N_l^2 M_l^2) ||G_l(out) - G_l(ref)||_F^2, G = F F^T",
            "layers": list(self.layers), "layer_weights": list(self.layer_weights), "reference": self.reference}

    def _batch(self, fake: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        ff, fr = self.features(fake, list(self.layers)), self.features(ref, list(self.layers))
        total = torch.zeros(fake.shape[0], dtype=torch.float64, device=self.device)
        for layer, weight in zip(self.layers, self.layer_weights, strict=True):
            n, m = ff[layer].shape[1], ff[layer].shape[2] * ff[layer].shape[3]
            total += weight * ((gram(ff[layer]) - gram(fr[layer])) ** 2).sum(dim=(1, 2)) / (4 * n**2 * m**2)
        return total

    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if fake.shape != real.shape:
            raise MetricInputError(f"style_loss needs equal shapes, got {tuple(fake.shape)} and {tuple(real.shape)}",
                                   hint=f"resize the {self.reference} images to the outputs' size first")
        return self.batched(self._batch, fake, real)


SEMANTIC_LAYERS = ("relu3_2", "relu4_2", "relu5_2")


@METRICS.register("semantic_consistency")
class SemanticConsistency(_VGGMetric, PairedMetric):
    """CoCosNet semantic consistency: mean cosine of VGG-19 relu3_2/4_2/5_2 features, output vs ground truth."""

    direction = "higher"
    best = 1.0
    version = "1"
    reference = "ground_truth"

    def __init__(self, cosine: str = "flattened", layers: tuple[str, ...] = SEMANTIC_LAYERS, **kwargs: Any) -> None:
        if cosine not in ("flattened", "per_position"):
            raise MetricInputError(f"cosine must be 'flattened' or 'per_position', got {cosine!r}",
                                   hint="semantic_consistency.cosine=flattened (default) or per_position")
        super().__init__(**kwargs)
        self.cosine, self.layers = cosine, tuple(layers)

    def settings(self) -> dict[str, Any]:
        return super().settings() | {
            "definition": "CoCosNet semantic consistency: mean over layers of cosine(VGG(out), VGG(gt))",
            "layers": list(self.layers), "cosine": self.cosine, "reference": "ground_truth"}

    def _batch(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        ff, fr = self.features(fake, list(self.layers)), self.features(real, list(self.layers))
        scores = []
        for layer in self.layers:
            if self.cosine == "flattened":
                scores.append(F.cosine_similarity(ff[layer].flatten(1), fr[layer].flatten(1), dim=1, eps=1e-12))
            else:
                scores.append(F.cosine_similarity(ff[layer], fr[layer], dim=1, eps=1e-12).flatten(1).mean(1))
        return torch.stack(scores).mean(0)

    def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if fake.shape != real.shape:
            raise MetricInputError(f"semantic_consistency needs equal shapes, got {tuple(fake.shape)} and "
                                   f"{tuple(real.shape)}", hint="resize the ground truth to the outputs' size first")
        return self.batched(self._batch, fake, real)


STATISTICS = ("mean", "std", "mean_std", "gram")


def channel_statistic(features: torch.Tensor, statistic: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """[B, D] statistic of [B,C,H,W] features over positions (optionally only where ``mask`` [B,1,H,W] is 1)."""
    if mask is None:
        mask = torch.ones_like(features[:, :1])
    weight = mask / mask.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    mean = (features * weight).sum(dim=(2, 3))
    if statistic == "mean":
        return mean
    var = ((features - mean[..., None, None]) ** 2 * weight).sum(dim=(2, 3))
    if statistic == "std":
        return var.sqrt()
    if statistic == "mean_std":
        return torch.cat([mean, var.sqrt()], dim=1)
    if statistic == "gram":
        masked = (features * weight.sqrt()).flatten(2)
        return (masked @ masked.transpose(1, 2)).flatten(1)
    raise MetricInputError(f"unknown statistic {statistic!r}; valid: {', '.join(STATISTICS)}",
                           hint="style_relevance.colour_statistic=mean (or std, mean_std, gram)")


@METRICS.register("style_relevance")
class StyleRelevance(_VGGMetric):
    """CoCosNet style relevance (§4): colour (relu1_2, channel means) and texture (relu2_2, channel stds) similarity
    of semantically corresponding regions of output and exemplar; the value is colour, texture is its companion.

    Regions (``regions="classes"``, the paper's "semantically corresponding patches"): the output's label map (the
    input label map it was translated from) and the exemplar's label map pair the pixels of each class; per class
    present in both with at least ``min_region_pixels`` pixels on each side, the statistic of the features inside
    that class's region of the output is compared with the one inside the same class's region of the exemplar
    (cosine); the image's score is the mean over its shared classes (each class counts once, whatever its area), the
    value the mean over images. Classes present on one side only, or too small, are left out and counted in
    ``extra["regions"]``; an image sharing no class with its exemplar is left out with a warning. Region masks reach
    each layer's resolution by area averaging (soft weights at the borders). ``regions="whole_image"`` compares the
    whole images instead (no labels; not the paper's definition).
    """

    direction = "higher"
    best = 1.0
    inputs = "pairs"
    version = "2"  # 2: texture = channel std (was mean), per-class regions by default, soft region masks
    reference = "exemplar"

    def __init__(self, colour_layer: str = "relu1_2", texture_layer: str = "relu2_2", colour_statistic: str = "mean",
                 texture_statistic: str = "std", regions: str = "classes", min_region_pixels: int = 16,
                 ignore_index: int | None = None, **kwargs: Any) -> None:
        for statistic in (colour_statistic, texture_statistic):
            if statistic not in STATISTICS:
                raise MetricInputError(f"unknown statistic {statistic!r}; valid: {', '.join(STATISTICS)}",
                                       hint="style_relevance.texture_statistic=std (or mean, mean_std, gram)")
        if regions not in ("classes", "whole_image"):
            raise MetricInputError(f"unknown style_relevance regions {regions!r}; valid: classes, whole_image",
                                   hint="style_relevance.regions=classes (the paper; needs label maps) or whole_image")
        super().__init__(**kwargs)
        self.aspects = {"colour": (colour_layer, colour_statistic), "texture": (texture_layer, texture_statistic)}
        self.regions, self.min_pixels, self.ignore_index = regions, int(min_region_pixels), ignore_index

    def settings(self) -> dict[str, Any]:
        regions = ("per class present in the output's and the exemplar's label maps (>= min_region_pixels each), "
                   "area-resized masks, mean over classes, then over images" if self.regions == "classes" else
                   "whole images (no label maps)")
        return super().settings() | {
            "definition": "CoCosNet style relevance: cosine(statistic(VGG_l(out)), statistic(VGG_l(exemplar)))",
            "aspects": {k: {"layer": layer, "statistic": s} for k, (layer, s) in self.aspects.items()},
            "regions": regions, "min_region_pixels": self.min_pixels, "ignore_index": self.ignore_index,
            "reference": "exemplar"}

    def _scores(self, ff: torch.Tensor, fe: torch.Tensor, statistic: str, lf: torch.Tensor | None,
                le: torch.Tensor | None) -> torch.Tensor:
        """[B] cosine per image of features [B,C,h,w] (NaN where no class is shared)."""
        if lf is None or le is None:
            return F.cosine_similarity(channel_statistic(ff, statistic), channel_statistic(fe, statistic), dim=1)
        scores = []
        for b in range(ff.shape[0]):
            shared = match_regions(lf[b], le[b], self.min_pixels, self.ignore_index).shared
            if not shared:
                scores.append(torch.tensor(float("nan"), dtype=torch.float64, device=ff.device))
                continue
            mf = F.adaptive_avg_pool2d(class_masks(lf[b], shared), ff.shape[-2:]).to(ff.device)
            me = F.adaptive_avg_pool2d(class_masks(le[b], shared), fe.shape[-2:]).to(fe.device)
            k = len(shared)
            sf = channel_statistic(ff[b:b + 1].expand(k, -1, -1, -1), statistic, mf)
            se = channel_statistic(fe[b:b + 1].expand(k, -1, -1, -1), statistic, me)
            scores.append(F.cosine_similarity(sf, se, dim=1, eps=1e-12).mean())
        return torch.stack(scores)

    def _labels(self, fake: torch.Tensor, exemplar: torch.Tensor, fake_labels: torch.Tensor | None,
                exemplar_labels: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if fake.shape[0] != exemplar.shape[0]:
            raise MetricInputError(f"style_relevance needs one exemplar per output, got {fake.shape[0]} and "
                                   f"{exemplar.shape[0]}", hint="pair every output with its exemplar")
        if self.regions == "whole_image":
            return None, None
        if fake_labels is None or exemplar_labels is None:
            raise MetricInputError("style_relevance compares semantically corresponding regions and needs label "
                                   "maps for both the outputs and the exemplars",
                                   hint="pass fake_labels and exemplar_labels, or style_relevance.regions=whole_image")
        return (label_ids(fake_labels, fake, self.name, "output"),
                label_ids(exemplar_labels, exemplar, self.name, "exemplar"))

    def per_image(self, fake: torch.Tensor, exemplar: torch.Tensor, fake_labels: torch.Tensor | None = None,
                  exemplar_labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """{"colour": [N], "texture": [N]} float64 in [-1,1] (NaN for an image sharing no class with its exemplar)
        of outputs and exemplars [N,3,H,W] in [0,1]; label maps [N,H,W] integer ids or [N,C,H,W] one-hot, the
        output's = the input label map. Raises ``MetricInputError`` for missing or mis-sized label maps."""
        lf, le = self._labels(fake, exemplar, fake_labels, exemplar_labels)
        layers = sorted({layer for layer, _ in self.aspects.values()})

        def run(f: torch.Tensor, e: torch.Tensor, a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
            ff, fe = self.features(f, layers), self.features(e, layers)
            return torch.stack([self._scores(ff[layer], fe[layer], statistic, a, b)
                                for layer, statistic in self.aspects.values()], dim=1)

        both = self.batched(run, fake, exemplar, lf, le)
        return {aspect: both[:, i] for i, aspect in enumerate(self.aspects)}

    def region_counts(self, fake_labels: torch.Tensor, exemplar_labels: torch.Tensor) -> dict[str, int]:
        """Classes compared and left out over a set: label maps [N,H,W] (ids) of outputs and exemplars."""
        matches = [match_regions(a, b, self.min_pixels, self.ignore_index)
                   for a, b in zip(fake_labels, exemplar_labels, strict=True)]
        return {"compared": sum(len(m.shared) for m in matches),
                "only_in_output": sum(m.only_output for m in matches),
                "only_in_exemplar": sum(m.only_exemplar for m in matches),
                "below_min_region_pixels": sum(m.too_small for m in matches),
                "images_without_shared_class": sum(not m.shared for m in matches)}

    def __call__(self, fake: torch.Tensor, exemplar: torch.Tensor, fake_labels: torch.Tensor | None = None,
                 exemplar_labels: torch.Tensor | None = None) -> MetricValue:
        """Colour relevance (mean over images), texture relevance in ``extra["companions"]``; with label maps the
        region counts in ``extra["regions"]`` of both."""
        scores = self.per_image(fake, exemplar, fake_labels, exemplar_labels)
        lf, le = self._labels(fake, exemplar, fake_labels, exemplar_labels)
        counts = self.region_counts(lf, le) if lf is not None and le is not None else None
        values = {}
        for aspect, samples in scores.items():
            finite = samples[torch.isfinite(samples)]
            if finite.numel() == 0:
                raise MetricInputError("style_relevance: no output shares a class with its exemplar",
                                       hint="check that outputs and exemplars use the same label set")
            value = MetricValue.from_samples(f"style_relevance_{aspect}", finite, self.direction, self.calibrated)
            if finite.numel() < samples.numel():
                value.warnings.append(f"{samples.numel() - finite.numel()} image(s) share no class with their "
                                      "exemplar and were left out")
            if counts is not None:
                value.extra["regions"] = counts
            values[aspect] = describe(value, self)
        values["colour"].extra["companions"] = [values["texture"]]
        return values["colour"]
