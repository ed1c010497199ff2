"""``bench tune``: Optuna studies over a method's loss weights, shared by many workers, prunable and resumable."""

from bench.tune.space import SearchSpace
from bench.tune.worker import TrialContext, run_worker

__all__ = ["SearchSpace", "TrialContext", "run_worker"]
