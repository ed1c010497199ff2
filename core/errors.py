"""Errors the user can act on: each carries what went wrong and how to fix it."""

from __future__ import annotations


class BenchError(Exception):
    """An error caused by input or environment; the CLI prints it without a traceback and exits non-zero."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n  fix: {self.hint}" if self.hint else text


class NoRecipeError(BenchError):
    """A method has no settings (recipe) for the data a protocol gives it, e.g. no EGSC-IT Table-6 row for the
    protocol's dataset. Not a user error: ``bench run`` and ``bench matrix`` record the method as refused for that
    protocol, with this message as the reason."""


class DataError(BenchError):
    """Missing or corrupt data files."""


class CheckpointError(BenchError):
    """A checkpoint file that cannot be used: truncated, corrupt, of another format or written by another method."""


class NonFiniteError(BenchError):
    """Training or inference produced NaN or infinite values."""


class MissingWeightsError(BenchError):
    """A pretrained artifact a metric or method needs is not on disk."""
