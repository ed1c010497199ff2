"""Helper of ``test_distributed.py`` (not a test): fit one method at the smoke preset on the toy data, on one process
or as one rank of ``torchrun --nproc_per_node=N`` (gloo), and let rank 0 save the loss history and the weights.

    python tests/bench/ddp_fit.py <method> <steps> <workdir> <out.pt> [batch_size]
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.devices import resolve_hardware
from bench.distributed import init, launched, shutdown, training
from methods.base import FitContext
from methods.common.distributed import is_main
from tests.methods.conftest import toy_train_data
from tests.methods.test_all_methods import build


def main() -> None:
    name, steps, workdir, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    overrides = {"steps": steps, "checkpoint_every": 0}
    if len(sys.argv) > 5:
        overrides["batch_size"] = int(sys.argv[5])
    torch.set_num_threads(1)
    hardware = resolve_hardware("cpu", 0, False)
    init(hardware.device)
    method = build(name, **overrides)
    caps = method.capabilities
    data = toy_train_data(8, 28, kind="paired" if caps.training == "paired" else "unpaired",
                          label_maps=caps.needs_label_maps)
    with training(hardware):
        method.fit(data, FitContext(workdir=workdir, seed=0, progress=False))
    history = torch.load(workdir / "last.pt", weights_only=False)["history"] if is_main() else None
    weights = {f"{net}.{k}": v.detach().clone() for net, module in method.networks().items()
               for k, v in module.state_dict().items()}
    if launched():
        dist.barrier()
    if is_main():
        torch.save({"history": history, "weights": weights, "world": dist.get_world_size() if launched() else 1},
                   out)
    shutdown()


if __name__ == "__main__":
    main()
