"""The ground floor: what every package may import and what imports nothing of ours above it.

Registry, errors, hashing, the weights manifest, pretrained feature extractors and provenance. Imports run one way:
``bench → protocols → methods → metrics → datasets → core`` (``tests/test_layering.py`` enforces it).
"""
