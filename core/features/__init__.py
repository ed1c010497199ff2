"""One registry of pretrained feature extractors: ``features.get(name, ...)`` → a cached, frozen network that knows
whether it is calibrated and describes its settings. See ``core/features/registry.py``.

Registered (``names()``): ``vgg19``, ``vgg16``, ``alexnet`` (torchvision ``features`` stacks; ``upto=``/``layers=``
by ReLU name, ``init=`` random recipe), ``fid_inception`` (``dims=``), ``deeplabv3_resnet50``,
``deeplabv3_resnet101``, ``deeplabv3_mobilenet_v3_large``, ``detectron2_panoptic`` and the ImageNet classifiers
``resnet101``, ``resnet50``, ``mobilenet_v3_large`` (initialisations of trainable segmenters). A new extractor is one
``FeatureExtractor`` subclass decorated with ``@register("name")`` in a module of this package, plus its file in the
weights manifest (``core/weights.py``).
"""

from core.features.guard import DownloadAttemptError, forbid_downloads
from core.features.registry import FEATURES, FeatureExtractor, get, names, register
from core.features.torchvision_nets import (
    ALEXNET_RELU,
    DEEPLABV3_VARIANTS,
    VGG16_RELU,
    VGG19_RELU,
    imagenet_normalise,
)

__all__ = ["ALEXNET_RELU", "DEEPLABV3_VARIANTS", "FEATURES", "VGG16_RELU", "VGG19_RELU", "DownloadAttemptError",
           "FeatureExtractor", "forbid_downloads", "get", "imagenet_normalise", "names", "register"]
