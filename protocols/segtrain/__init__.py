"""Parts of the segmenter-training kit (``protocols.segmentation_training`` is its public entry point)."""
