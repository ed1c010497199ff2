"""`bench study` (the user-study page) and `bench report study=...` (answers → SIA Table 1's average ranks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.__main__ import main as bench_main
from bench.report.study_answers import average_rank_table, load_answers, study_table
from bench.report.study_page import (
    ANSWERS_FORMAT,
    StudyError,
    decode_key,
    encode_key,
    read_page,
    read_study,
    shuffle,
    write_page,
)


def make_study(root: Path, cases: int = 3, methods: tuple[str, ...] = ("sia", "ia", "dia"),
               target: bool = True) -> Path:
    """A tiny study folder: cases c0.. with distinct 8×8 images (so every image is told apart by its bytes)."""
    for i in range(cases):
        case = root / f"c{i}"
        case.mkdir(parents=True)
        Image.new("RGB", (8, 8), (200, i, 0)).save(case / "source.png")
        if target:
            Image.new("RGB", (8, 8), (0, i, 200)).save(case / "target_layout.png")
        for j, method in enumerate(methods):
            Image.new("RGB", (8, 8), (j, i, 99)).save(case / f"{method}.png")
    return root


def answers_file(path: Path, page: dict, orders: dict[str, list[str]], rater: str = "r") -> Path:
    """An answers file as the page exports it, from {case: [method best → worst]}."""
    label = {case: {m: lab for lab, m in labels.items()} for case, labels in page["mapping"].items()}
    body = {"format": ANSWERS_FORMAT, "study_id": page["study_id"], "rater": rater,
            "started_at": "2026-01-01T00:00:00Z", "exported_at": "2026-01-01T00:05:00Z",
            "cases": [{"case": c, "ranking": [label[c][m] for m in order], "ranked_at": "2026-01-01T00:01:00Z"}
                      for c, order in orders.items()]}
    path.write_text(json.dumps(body))
    return path


def test_layout_reader(tmp_path):
    cases = read_study(make_study(tmp_path / "s", target=False))
    assert [c.case for c in cases] == ["c0", "c1", "c2"]
    assert sorted(cases[0].outputs) == ["dia", "ia", "sia"] and cases[0].target is None
    (tmp_path / "s" / "c1" / "source.png").unlink()
    with pytest.raises(StudyError, match=r"case c1: .*source.png is missing") as err:
        read_study(tmp_path / "s")
    assert "add the source image" in str(err.value)


@pytest.mark.parametrize("broken, message", [
    ("missing", "does not exist"), ("empty", "no case folders"), ("one_method", "at least 2"),
    ("odd_case", r"differs from case c0 in method\(s\) \['sia'\]")])
def test_layout_errors(tmp_path, broken, message):
    root = tmp_path / "s"
    if broken == "empty":
        root.mkdir()
    elif broken == "one_method":
        make_study(root, methods=("sia",))
    elif broken == "odd_case":
        make_study(root)
        (root / "c2" / "sia.png").unlink()
    with pytest.raises(StudyError, match=message):
        read_study(root)


def test_shuffle_is_seeded_and_differs_between_cases(tmp_path):
    methods = tuple(f"m{k}" for k in range(5))
    root = make_study(tmp_path / "s", cases=6, methods=methods)

    def orders(seed):
        cases = read_study(root)
        shuffle(cases, seed)
        return [list(c.labels.values()) for c in cases]

    first = orders(1)
    assert orders(1) == first  # reproducible
    assert len({tuple(o) for o in first}) > 1  # not the same letters in every case
    assert orders(2) != first
    assert all(sorted(o) == sorted(methods) for o in first)
    cases = read_study(root)
    shuffle(cases, 1)
    assert list(cases[0].labels) == ["A", "B", "C", "D", "E"]


def test_page_is_self_contained_and_hides_method_names(tmp_path):
    page = tmp_path / "study.html"
    data = write_page(make_study(tmp_path / "s", methods=("sia_method", "deep_analogy")), page, seed=0,
                      raters_hint="send to me")
    text = page.read_text()
    assert "sia_method" not in text and "deep_analogy" not in text
    assert text.count("data:image/png;base64,") == 3 * 4  # source, target, 2 outputs per case
    assert "http://" not in text and "https://" not in text and "<script src" not in text
    back = read_page(page)
    assert back["study_id"] == data["study_id"] and back["raters_hint"] == "send to me"
    assert back["mapping"]["c0"] in ({"A": "sia_method", "B": "deep_analogy"}, {"A": "deep_analogy", "B": "sia_method"})
    assert decode_key("abc", encode_key("abc", {"x": {"A": "m"}})) == {"x": {"A": "m"}}
    # same folder and seed → same study id; another seed → another id (its answers do not fit this page)
    assert write_page(tmp_path / "s", tmp_path / "again.html", seed=0)["study_id"] == data["study_id"]
    assert write_page(tmp_path / "s", tmp_path / "other.html", seed=1)["study_id"] != data["study_id"]


def test_average_ranks_and_spread_over_raters():
    raters = [  # 3 raters × 2 cases, {case: [best → worst]}
        {"c0": ["a", "b", "c"], "c1": ["a", "b", "c"]},   # a 1, b 2, c 3
        {"c0": ["b", "a", "c"], "c1": ["a", "c", "b"]},   # a 1.5, b 2, c 2.5
        {"c0": ["c", "b", "a"], "c1": ["b", "a", "c"]},   # a 2.5, b 1.5, c 2
    ]
    table = average_rank_table(raters, n_resamples=4000, seed=0).set_index("method")
    per_rater = {"a": [1, 1.5, 2.5], "b": [2, 2, 1.5], "c": [3, 2.5, 2]}
    for method, values in per_rater.items():
        assert table.loc[method, "mean_rank"] == pytest.approx(np.mean(values))
        assert table.loc[method, "std_over_raters"] == pytest.approx(np.std(values, ddof=1))
        assert min(values) <= table.loc[method, "ci95_low"] <= np.mean(values) <= table.loc[method, "ci95_high"]
        assert table.loc[method, "ci95_high"] <= max(values)
    assert table["mean_rank"].sum() == pytest.approx(1 + 2 + 3)  # ranks of 3 methods always sum to 6
    assert list(table.index) == ["a", "b", "c"] and set(table["n_raters"]) == {3} and set(table["n_cases"]) == {2}
    single = average_rank_table(raters[:1], n_resamples=10)
    assert single["std_over_raters"].isna().all() and (single["ci95_low"] == single["mean_rank"]).all()


@pytest.mark.parametrize("fault, message", [
    ("study_id", "answers for study 'other'"), ("label", r"unknown label\(s\) \['Z'\]"),
    ("duplicate", "more than once"), ("short", "ranks 2 of 3 outputs"), ("missing_case", r"1 case\(s\) unranked"),
    ("not_json", "not a JSON answers file"), ("shape", "must be a list of")])
def test_bad_answers_files_name_the_file_and_the_fix(tmp_path, fault, message):
    page_file = tmp_path / "study.html"
    write_page(make_study(tmp_path / "s", cases=2), page_file)
    page = read_page(page_file)
    path = answers_file(tmp_path / "bad.json", page, {"c0": ["sia", "ia", "dia"], "c1": ["dia", "ia", "sia"]})
    body = json.loads(path.read_text())
    ranking = body["cases"][0]["ranking"]
    if fault == "study_id":
        body["study_id"] = "other"
    elif fault == "label":
        ranking[0] = "Z"
    elif fault == "duplicate":
        ranking[1] = ranking[0]
    elif fault == "short":
        ranking.pop()
    elif fault == "missing_case":
        body["cases"].pop()
    elif fault == "shape":
        body["cases"] = {"c0": ranking}
    path.write_text("{oops" if fault == "not_json" else json.dumps(body))
    with pytest.raises(StudyError, match=message) as err:
        load_answers(path, page)
    assert str(path) in str(err.value) and "fix:" in str(err.value)


def test_cli_study_and_report(tmp_path, capsys):
    page_file = tmp_path / "page.html"
    assert bench_main(["study", f"images={make_study(tmp_path / 's', cases=2)}", f"out={page_file}", "seed=4"]) == 0
    page = read_page(page_file)
    a = answers_file(tmp_path / "a.json", page, {"c0": ["sia", "ia", "dia"], "c1": ["sia", "dia", "ia"]}, "a")
    b = answers_file(tmp_path / "b.json", page, {"c0": ["ia", "sia", "dia"], "c1": ["sia", "ia", "dia"]}, "b")
    out = tmp_path / "report"
    assert bench_main(["report", f"study=[{a},{b}]", f"study_page={page_file}", f"out_dir={out}"]) == 0
    printed = capsys.readouterr().out
    assert "| sia | 1.250 | 0.354 |" in printed  # a: 1, b: 1.5
    assert (out / "study" / "average_rank.md").read_text().count("\n| ") == 4
    assert list(np.genfromtxt(out / "study" / "average_rank.csv", delimiter=",", dtype=str)[1:, 0]) == \
        ["sia", "ia", "dia"]
    # the same rater twice, and a missing page: one error each, exit 2
    assert bench_main(["report", f"study=[{a},{a}]", f"study_page={page_file}", f"out_dir={out}"]) == 2
    assert bench_main(["report", f"study=[{a}]", f"study_page={tmp_path / 'none.html'}"]) == 2
    err = capsys.readouterr().err
    assert "also answered in" in err and "none.html does not exist" in err
    assert bench_main(["study", "images=x"]) == 2 and "needs out=" in capsys.readouterr().err
    assert study_table([a], page_file, n_resamples=10)[0]["n_raters"].tolist() == [1, 1, 1]
