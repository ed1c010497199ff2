"""CLI commands: one module each, exposing ``SUMMARY`` and ``main(argv) -> int``."""
