"""CoCosNet's four protocols (Zhang et al., CVPR 2020, §4, Tables 1–4): one implementation
(``protocols/cocosnet/protocol.py``), four thin registrations. Each names its method recipe (``dataset``, contract
§2), its offline stand-in world, its real reader and its conditioning encoding (``data.py``)."""

from __future__ import annotations

from protocols import PROTOCOLS
from protocols.cocosnet.protocol import CoCosNetProtocol


@PROTOCOLS.register("ade20k")
class ADE20k(CoCosNetProtocol):
    dataset, world, reader, encoding = "ade20k", "scenes", "ade20k", "one_hot"


@PROTOCOLS.register("ade20k_outdoor")
class ADE20kOutdoor(CoCosNetProtocol):
    dataset, world, reader, encoding = "ade20k", "scenes", "ade20k_outdoor", "one_hot"


@PROTOCOLS.register("celebahq_edge")
class CelebAHQEdge(CoCosNetProtocol):
    dataset, world, reader, encoding = "celebahq_edge", "faces", "celebahqedge", "face_edges"
    train_lists = "random"  # the maintainers (issue #10): "for faces, random exemplars are fine"


@PROTOCOLS.register("deepfashion")
class DeepFashion(CoCosNetProtocol):
    dataset, world, reader, encoding = "deepfashion", "figures", "deepfashion", "pose"
