"""``edges2shoes``: SEGIN's edges→shoes protocol (Huang et al., IEEE TMM 2020, §IV-B, Tables I–II).

The shared implementation is in ``protocol.py`` (also used by ``edges2handbags``); ``sampling.py`` says which test
inputs are translated under which references; ``reported.py`` holds the paper's numbers.
"""

from __future__ import annotations

from protocols import PROTOCOLS
from protocols.edges2shoes.protocol import Edges2Photos


@PROTOCOLS.register("edges2shoes")
class Edges2Shoes(Edges2Photos):
    dataset = "edges2shoes"
