"""bench: a benchmark harness for exemplar-guided image-to-image translation."""

__version__ = "0.1.0"
