"""CycleGAN specifics: paper-preset sizes, the epoch-based schedule, which generator translates which way."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from datasets.base import TensorImageSet, TrainData
from methods import create_method
from methods.common.images import to_signed, to_unit
from tests.methods.conftest import preset_params, toy_domains


def test_paper_preset_matches_the_official_parameter_counts() -> None:
    # official resnet_9blocks G and basic D (pytorch-CycleGAN-and-pix2pix models/networks.py): 11,378,179 and
    # 2,764,737 parameters
    counts = create_method("cyclegan", **preset_params("cyclegan", "paper")).parameter_counts()
    assert counts == {"G_AB": 11_378_179, "G_BA": 11_378_179, "D_A": 2_764_737, "D_B": 2_764_737}


def test_epoch_schedule_counts_the_larger_domain() -> None:
    method = create_method("cyclegan", **preset_params("cyclegan", "smoke", steps=None, epochs=4, decay_epochs=2))
    data = TrainData(TensorImageSet(torch.rand(3, 3, 8, 8)), TensorImageSet(torch.rand(5, 3, 8, 8)), "unpaired")
    assert method.total_steps(data) == 4 * 5
    sched = method.make_schedulers(20)["G"]
    factors = [sched.lr_lambdas[0](t) for t in range(20)]
    assert factors[:11] == [1.0] * 11 and factors[-1] == pytest.approx(1 - 9 / 11)  # linear decay in the last half


def test_directions_use_their_own_generator() -> None:
    method = create_method("cyclegan", **preset_params("cyclegan", "smoke"))
    a, b = toy_domains(2)
    with torch.no_grad():
        want_ab = to_unit(method.nets["G_AB"](to_signed(a)))
        want_ba = to_unit(method.nets["G_BA"](to_signed(b)))
    torch.testing.assert_close(method.translate(a, None, "AB"), want_ab)
    torch.testing.assert_close(method.translate(b, None, "BA"), want_ba)
    assert method.capabilities.guidance == "none"


def test_misspelt_parameters_and_wrong_data_are_refused(tmp_path: Path) -> None:
    from core.errors import BenchError, DataError
    from methods.base import FitContext

    with pytest.raises(BenchError, match="lamda_a"):
        create_method("cyclegan", lamda_a=5.0)
    method = create_method("cyclegan", **preset_params("cyclegan", "smoke"))
    empty = TrainData(TensorImageSet(torch.rand(0, 3, 28, 28)), TensorImageSet(torch.rand(2, 3, 28, 28)), "unpaired")
    with pytest.raises(DataError, match="empty"):
        method.fit(empty, FitContext(workdir=tmp_path, progress=False))
    with pytest.raises(BenchError, match="30×30"):
        method.check_image_size(30, 30)  # 2 downsamplings need sides divisible by 4
