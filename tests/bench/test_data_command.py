"""``python -m bench data``: list, show (contact sheets) and prepare, on every world and real dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.__main__ import main as bench_main
from datasets.real import REAL_DATASETS
from datasets.worlds import WORLDS
from tests.datasets.worlds.toy import ToyWorld


@pytest.fixture
def toy_world(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(WORLDS._entries, "toy", ToyWorld)
    return "toy"


def test_list_names_every_world_and_real_dataset(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    assert bench_main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in [*WORLDS.names(), *REAL_DATASETS.names()]:
        assert name in out
    for name in REAL_DATASETS.names():  # nothing is in the empty data cache
        assert f"no ({tmp_path / name})" in out


@pytest.mark.parametrize("name", [*WORLDS.names(), "toy"])
def test_show_writes_a_sheet_with_items_and_the_exact_ground_truth_matrix(name, tmp_path, capsys, toy_world):
    out = tmp_path / "sheet.png"
    assert bench_main(["data", "show", f"source={name}", "n=3", "size=48", f"out={out}"]) == 0
    sheet = np.asarray(Image.open(out))
    # 3 columns of items + a 4×4 matrix (header row/column + 3×3 renders), 48-px tiles
    assert sheet.shape[1] >= 110 + 4 * 48 and sheet.shape[0] > 6 * 48
    assert (sheet < 250).any(axis=-1).mean() > 0.15, "the sheet is mostly empty"
    assert f"wrote {out}" in capsys.readouterr().out


def test_world_settings_reach_the_world(tmp_path, toy_world):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert bench_main(["data", "show", "source=toy", "n=2", "size=48", f"out={a}"]) == 0
    assert bench_main(["data", "show", "source=toy", "n=2", "size=48", "world.with_disc=false", f"out={b}"]) == 0
    assert not np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_exemplars_from_other_world_settings_change_only_the_matrix(tmp_path, toy_world):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert bench_main(["data", "show", "source=toy", "n=2", "size=48", f"out={a}"]) == 0
    assert bench_main(["data", "show", "source=toy", "n=2", "size=48", "exemplar.with_disc=false", f"out={b}"]) == 0
    sa, sb = np.asarray(Image.open(a)), np.asarray(Image.open(b))
    assert np.array_equal(sa[:120, :300], sb[:120, :300])  # the items' rows are the same
    assert sa.shape != sb.shape or not np.array_equal(sa, sb)  # the matrix (and its title) differ


def test_prepare_renders_a_world_into_the_cache_once(tmp_path, capsys, monkeypatch, toy_world):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path))
    assert bench_main(["data", "prepare", "source=toy", "n=70", "size=40"]) == 0
    assert "2 shard(s) rendered" in capsys.readouterr().out
    assert len(list(Path(tmp_path, "worlds").rglob("shard-*.npz"))) == 2
    assert bench_main(["data", "prepare", "source=toy", "n=70", "size=40"]) == 0
    assert "0 shard(s) rendered" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["show"], "needs source=NAME"),
    (["show", "source=nope"], "unknown data source 'nope'"),
    (["show", "source=toy", "colour=red"], "unknown key(s) ['colour']"),
    (["show", "source=toy", "world.size_of_sun=3"], "world toy"),
    (["show", "source=toy", "split=dev"], "no split 'dev'"),
    (["show", "nonsense"], "key=value"),
    (["show", "source=toy", "world=photo"], "not a setting"),
    (["show", "source=toy", "n=abc"], "n='abc' must be an integer"),
    (["show", "source=toy", "n=-2"], "n=-2 must be an integer ≥ 1"),
    (["show", "source=toy", "size=8"], "32..1024"),
    (["show", "source=toy", "size=[32,64,96]"], "32..1024"),
    (["show", "source=toy", "out=/tmp/noext"], "must name a .png file"),
    (["show", "source=toy", "root=/tmp"], "toy is a procedural world: root does not apply"),
    (["prepare", "source=toy", "workers=0"], "workers=0 must be an integer ≥ 1"),
    (["download", "source=toy"], "nothing to download"),
    (["frob"], "unknown action 'frob'"),
])
def test_bad_input_gets_one_line_and_the_fix(args, message, capsys, toy_world):
    assert bench_main(["data", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_prepare_in_two_processes_gives_the_same_shards(tmp_path, monkeypatch, toy_world):
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "a"))
    assert bench_main(["data", "prepare", "source=toy", "n=130", "size=40", "workers=2"]) == 0
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "b"))
    assert bench_main(["data", "prepare", "source=toy", "n=130", "size=40"]) == 0
    shards = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("shard-*.npz"))
    assert len(shards) == 3
    for rel in shards:
        with np.load(tmp_path / "a" / rel) as a, np.load(tmp_path / "b" / rel) as b:
            assert all(np.array_equal(a[k], b[k]) for k in a.files)


def test_help_is_the_command_documentation_for_every_action(capsys):
    for args in (["--help"], ["show", "--help"], ["prepare", "-h"], ["list", "help"]):
        assert bench_main(["data", *args]) == 0
        assert "Keys (``key=value``)" in capsys.readouterr().out


@pytest.mark.parametrize("name", REAL_DATASETS.names())
def test_real_data_refuses_world_keys_and_prepare(name, capsys):
    assert bench_main(["data", "show", f"source={name}", "world.domain=photo"]) == 2
    assert f"{name} is real data: world does not apply" in capsys.readouterr().err
    assert bench_main(["data", "prepare", f"source={name}"]) == 2
    assert "nothing to prepare" in capsys.readouterr().err


def test_download_without_a_public_url_prints_the_steps(capsys, tmp_path):
    assert bench_main(["data", "download", "source=bdd100k", f"root={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "cannot be downloaded automatically" in err and "bdd-data.berkeley.edu" in err


def test_the_matrix_greys_out_classes_the_exemplar_does_not_show(tmp_path, toy_world):
    from bench.sheets import _dim_invisible

    image = np.full((2, 2, 3), 200, np.uint8)
    visible = np.array([[True, False], [True, True]])
    out = _dim_invisible(image, visible)
    assert (out[0, 0] == 200).all() and (out[0, 1] != 200).all() and (out[1] == 200).all()
