"""The terminal table of `bench run`: notes as numbered footnotes under the table (issue 13, failure kind 10: a
600-character note repeated on every row made the edges2shoes table unreadable)."""

from __future__ import annotations

from bench.results import ResultRow, comparison_table, footnoted, rows_frame
from bench.run_outputs import table_markdown

LONG = "FID from 12 generated / 12 real samples (< 2048): the estimate is biased upward " + "x" * 520
assert len(LONG) == 600


def row(method: str, metric: str, note: str) -> ResultRow:
    return ResultRow(protocol="edges2shoes", method=method, metric=metric, translation="A→B", value=0.5, std=0.1,
                     n=12, direction="lower", protocol_hash="abc", calibrated=True, status="ok", note=note,
                     scale="smoke", seed=0, data_source="edges2objects", data_fingerprint="f", git_commit="0" * 40)


ROWS = [row("input_copy", "fid", LONG), row("input_copy", "ssim", "no exemplar"),
        row("exemplar_copy", "fid", LONG), row("exemplar_copy", "ssim", ""),
        row("colour_transfer", "fid", f"{LONG}; similar refs picked automatically")]


def test_one_footnote_per_distinct_note_and_markers_on_rows() -> None:
    table, notes = footnoted(comparison_table(ROWS))
    assert notes == [LONG, "no exemplar", "similar refs picked automatically"]
    assert table["note"].tolist() == ["[1] [2]", "[1]", "[1] [3]"]


def test_terminal_table_prints_the_long_note_once_under_narrow_rows() -> None:
    text = table_markdown(comparison_table(ROWS), ROWS)
    assert text.count(LONG) == 1
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table_lines) == 5 and max(map(len, table_lines)) < 120
    assert text.rstrip().endswith(f"notes:\n\n- [1] {LONG}\n- [2] no exemplar\n- [3] similar refs picked automatically")


def test_table_without_notes_has_no_footnotes() -> None:
    rows = [row("input_copy", "fid", "")]
    text = table_markdown(comparison_table(rows), rows)
    assert "notes:" not in text and "| input_copy" in text


def test_header_names_stand_in_data_as_such() -> None:
    rows = [row("input_copy", "fid", "")]
    header = table_markdown(comparison_table(rows), rows, "procedural stand-in, NOT edges2shoes").splitlines()[0]
    assert "data `edges2objects` (procedural stand-in, NOT edges2shoes) (fingerprint `f`)" in header
    assert "stand-in" not in table_markdown(comparison_table(rows), rows)  # real data: the source alone


def test_metric_warnings_stay_one_footnote_each() -> None:
    """A warning is one footnote: the table splits a row's note at NOTE_SEPARATOR, so no warning may contain it."""
    from bench.results import NOTE_SEPARATOR
    from metrics import METRICS
    from metrics.base import MetricValue, describe
    from metrics.fid import kid_subset_size, small_sample_note

    kid_note = kid_subset_size(8, 8)[1]
    assert kid_note is not None and "subsets of all 8 would be the same set every time" in kid_note
    fid_note = small_sample_note(8, 8, 2048)
    uncalibrated = []
    for name in ("fid", "style_relevance"):
        cls = METRICS.get(name)
        metric = type("Random", (), {"name": name, "pretrained_network": cls.pretrained_network, "calibrated": False,
                                     "settings": lambda self: {}})()  # the class's note, no network built
        uncalibrated.append(describe(MetricValue(name, 1.0, None, 8, "lower"), metric).warnings[-1])  # type: ignore
    assert uncalibrated[0].startswith("uncalibrated: Inception-v3") and "VGG-19" in uncalibrated[1]
    for note in (kid_note, fid_note, *uncalibrated):
        assert NOTE_SEPARATOR not in note, note
        rows = [row("m", "fid", NOTE_SEPARATOR.join([note, "other"]))]
        assert footnoted(comparison_table(rows))[1] == [note, "other"]


def test_long_reported_sources_become_footnotes_and_short_ones_stay() -> None:
    long_source = "reported: MSCA (ECCV 2020) Table 2 (user study); real COCO-Stuff; not comparable with rows on scenes"
    rows = [row("msca", "fid", ""),
            ResultRow(**{**row("msca", "fid", "").as_dict(), "source": long_source, "status": "reported"}),
            ResultRow(**{**row("munit", "fid", "").as_dict(), "source": "reported: SEGIN Table I",
                         "status": "reported"})]
    table, notes = footnoted(comparison_table(rows))
    assert list(table.index) == ["msca", "msca (reported [1])", "munit (reported: SEGIN Table I)"]
    assert notes == [long_source]


def test_small_values_print_in_scientific_notation_everywhere() -> None:
    """MSCA's Gram style loss (~1e-4) must not print as 0.000 in run tables nor in `bench report`'s tables."""
    import pandas as pd

    from bench.report.seeds import interval_text
    from bench.report.tables import format_value
    from bench.results import format_cell

    assert format_cell(5.34e-4, 1e-4) == "5.34e-04 ± 1.00e-04" and format_cell(0.5, 0.1) == "0.500 ± 0.100"
    assert format_value(pd.Series({"value": 5.34e-4, "std": 2e-5})) == "5.34e-04 ± 2.00e-05"
    line = pd.Series({"mean": 5e-4, "boot_low": 4e-4, "boot_high": 6e-4, "t_low": 3e-4, "t_high": 7e-4, "std": 1e-4})
    assert interval_text(line, 3) == "5.00e-04 [4.00e-04, 6.00e-04] · t [3.00e-04, 7.00e-04]"


def test_report_notes_keep_each_fragment_once() -> None:
    """`bench report` joined a row's per-column notes whole, so shared fragments repeated (11 KB cells)."""
    from bench.report.tables import join_notes

    notes = ["rule A; uncalibrated: VGG", "rule A; FID small sample", "", None, "uncalibrated: VGG"]
    assert join_notes(notes) == "rule A; uncalibrated: VGG; FID small sample"


def test_a_refused_row_says_so_in_every_column_companions_included() -> None:
    ok = [row("munit", "fid", ""), row("munit", "kid", "")]  # KID: a companion column only some rows fill
    refused = ResultRow(**{**row("egscit", "fid", "no recipe").as_dict(), "status": "refused", "value": None,
                           "std": None, "n": None})
    table = comparison_table([*ok, refused])
    assert table.loc["egscit", "FID A→B"] == "REFUSED" and table.loc["egscit", "KID A→B"] == "REFUSED"
    assert table.loc["munit", "KID A→B"] != "REFUSED"
    frame = rows_frame([*ok, refused])
    assert str(frame["n"].dtype) == "Int64" and frame["n"].tolist()[:2] == [12, 12]  # whole numbers stay whole


def test_report_tables_print_a_long_shared_note_once_as_a_footnote(tmp_path) -> None:
    """Issue 13, failure kind 10 in `bench report`: the gta2bdd Markdown table repeated a 400-character note on
    every row. Markdown and HTML now number each distinct fragment once under the table; the CSV keeps the text."""
    from bench.report.tables import Row, Table

    long_note = "mIoU over the 19 Cityscapes classes " + "x" * 400
    rows = [Row("a", {"mIoU": "0.1"}, extra={"note": long_note}),
            Row("b", {"mIoU": "0.2"}, extra={"note": f"{long_note}; uncalibrated: VGG"}),
            Row("c", {"mIoU": "0.3"}, extra={"note": ""})]
    table = Table("t", "t", ["mIoU"], rows, extra_columns=["note"], caption="cap")
    markdown = table.to_markdown()
    assert markdown.count(long_note) == 1 and markdown.count("uncalibrated: VGG") == 1
    lines = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in markdown.splitlines()
             if line.startswith("| ") and "method" not in line}
    assert lines == {"a": "[1]", "b": "[1] [2]", "c": ""}
    assert f"- [1] {long_note}\n- [2] uncalibrated: VGG\n" in markdown
    assert table.to_html().count(long_note) == 1
    paths = table.write(tmp_path)
    assert paths["csv"].read_text().count(long_note) == 2  # the data file keeps every row's note whole
    plain = Table("t", "t", ["mIoU"], rows[2:], extra_columns=["note"])
    assert "notes:" not in plain.to_markdown()


def test_report_tables_footnote_a_long_reported_source() -> None:
    """Newcomer review: `bench report` printed 'munit (reported: SEGIN (TMM 2020) Table I; real edges2shoes; not
    comparable ...)' as the label of every reported row (a 118-character method column); `bench run` footnotes it."""
    import pandas as pd

    from bench.report.tables import protocol_table

    source = "reported: SEGIN (TMM 2020) Table I; real edges2shoes; not comparable with rows on edges2objects"
    base = {"protocol": "p", "protocol_hash": "h", "scale": "", "calibrated": True, "translation": "AB",
            "direction": "lower", "std": None, "ci_low": None, "ci_high": None, "err_kind": "", "seeds": 0, "n": None,
            "status": "reported", "note": "published number", "method_class": "", "variant_of": "", "metric": "fid"}
    papers = [("munit", source, 80.9), ("segin", source, 54.5), ("bic", "reported: short", 62.5)]
    agg = pd.DataFrame([{**base, "method": m, "source": s, "value": v} for m, s, v in papers])
    markdown = protocol_table(agg, "p", "h").to_markdown()
    assert "| munit (reported)" in markdown and "| segin (reported)" in markdown
    assert "| bic (reported: short)" in markdown  # a short source stays in the label, as in `bench run`
    assert markdown.count("SEGIN (TMM 2020) Table I") == 1
    footnote = "] reported: SEGIN (TMM 2020) Table I, real edges2shoes, not comparable with rows on edges2objects"
    assert footnote in markdown
