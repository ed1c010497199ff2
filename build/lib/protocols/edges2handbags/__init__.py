"""``edges2handbags``: SEGIN's edges→handbags protocol (IEEE TMM 2020, §IV-B, Tables I–II); the implementation is
shared with ``edges2shoes`` (``protocols/edges2shoes/protocol.py``)."""

from __future__ import annotations

from protocols import PROTOCOLS
from protocols.edges2shoes.protocol import Edges2Photos


@PROTOCOLS.register("edges2handbags")
class Edges2Handbags(Edges2Photos):
    dataset = "edges2handbags"
