"""Drive the study page in headless Chromium as raters would (clicks, keys, reset, name, Export), capture the
downloaded answers and check that ``bench report``'s average ranks are exactly what the clicks set.

Needs Playwright for Python (the ``dev`` extra; its own browsers are never downloaded) and Debian's ``chromium``;
skipped with the reason when either is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report.study_answers import study_table
from bench.report.study_page import read_page, write_page
from tests.bench.test_report_browser import find_chromium
from tests.bench.test_study import make_study

# each rater's wanted order per case, best → worst
RATERS = {
    "ana": {"c0": ["sia", "dia", "ia"], "c1": ["sia", "dia", "ia"], "c2": ["sia", "dia", "ia"]},
    "bo": {"c0": ["ia", "sia", "dia"], "c1": ["sia", "ia", "dia"], "c2": ["sia", "dia", "ia"]},
}


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python not installed "
                                                                 "(pip install -e .[dev])")
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("headless Chromium not found (install Debian's `chromium` package, or set $CHROMIUM)")
    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def rate(page, page_file: Path, rater: str, wanted: dict[str, list[str]], mapping: dict, out: Path) -> Path:
    """One rater: ranks case 0 by clicks, case 1 by keys 1..n, case 2 by a wrong click, Reset, then clicks; a premature
    Export downloads nothing, a reload keeps the work; then name + Export. The page is left as exported."""
    page.goto(page_file.resolve().as_uri())
    assert page.locator("#progress").get_attribute("data-done") == "0" and page.locator("#rater").input_value() == ""
    for i, case in enumerate(sorted(wanted)):
        assert page.locator("#case-title").get_attribute("data-case") == case
        label_of = {method: label for label, method in mapping[case].items()}
        tiles = page.locator("#outputs .tile")
        on_screen = [tiles.nth(k).get_attribute("data-label") for k in range(tiles.count())]
        if i == 2:  # a wrong first pick, then Reset
            page.click(f'#outputs .tile[data-label="{label_of[wanted[case][-1]]}"]')
            assert page.locator(".badge").count() == 1
            page.click("#reset")
            assert page.locator(".badge").count() == 0
        for method in wanted[case]:
            if i == 1:
                page.keyboard.press(str(on_screen.index(label_of[method]) + 1))
            else:
                page.click(f'#outputs .tile[data-label="{label_of[method]}"]')
        badges = {page.locator(f'.tile[data-label="{label_of[m]}"] .badge').inner_text(): m for m in wanted[case]}
        assert badges == {str(r + 1): m for r, m in enumerate(wanted[case])}
        if i == 0:  # Export before all cases are ranked: a message, no download
            page.fill("#rater", rater)
            page.click("#export")
            assert "unranked" in page.locator("#message").inner_text()
            assert page.locator("#case-title").get_attribute("data-case") == "c1"  # jumped to the first unranked
            page.reload()  # the work so far survives a reload
            assert page.locator("#progress").get_attribute("data-done") == "1"
            assert page.locator("#rater").input_value() == rater
            continue
        if i + 1 < len(wanted):
            page.click("#next")
    assert page.locator("#progress").get_attribute("data-done") == str(len(wanted))
    with page.expect_download(timeout=5000) as download:
        page.click("#export")
    target = out / download.value.suggested_filename
    download.value.save_as(target)
    return target


def test_clicks_and_keys_become_the_average_rank_table(browser, tmp_path):
    page_file = tmp_path / "study.html"
    write_page(make_study(tmp_path / "study", cases=3, methods=("sia", "ia", "dia")), page_file, seed=5)
    mapping = read_page(page_file)["mapping"]
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    files = []
    for name, wanted in RATERS.items():  # raters share one browser: "New rater" clears the first one's work
        if files:
            page.once("dialog", lambda dialog: dialog.accept())
            page.click("#new-rater")
            page.wait_for_load_state()
        files.append(rate(page, page_file, name, wanted, mapping, tmp_path))
    context.close()
    answers = json.loads(files[0].read_text())
    assert answers["rater"] == "ana" and answers["study_id"] == read_page(page_file)["study_id"]
    assert all(c["ranked_at"] for c in answers["cases"]) and answers["exported_at"] >= answers["started_at"]
    assert not any(m in json.dumps(answers) for m in ("sia", '"ia"', "dia"))  # anonymous labels only

    table, _ = study_table(files, page_file, n_resamples=200)
    got = table.set_index("method")
    # ana: sia 1, dia 2, ia 3 everywhere; bo: sia (2,1,1), ia (1,2,3), dia (3,3,2)
    assert got["mean_rank"].to_dict() == pytest.approx({"sia": (1 + 4 / 3) / 2, "ia": (3 + 2) / 2,
                                                        "dia": (2 + 8 / 3) / 2})
    assert got.loc["sia", "std_over_raters"] == pytest.approx(abs(4 / 3 - 1) / 2 ** 0.5)
    assert list(table["method"]) == ["sia", "dia", "ia"]
    assert set(got["n_raters"]) == {2} and set(got["n_cases"]) == {3}
