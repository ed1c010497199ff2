"""Answers files of the ranking page → SIA Table 1's average-rank table (``bench report study=[...] study_page=...``).

Per method: the mean rank over all raters and cases (1 = most similar to the source; lower is better, as "Avg. User
Ranking↓" in SIA Table 1), its spread over raters — the std (ddof=1) of the raters' own mean ranks and a percentile
bootstrap 95% CI that resamples raters — and the numbers of raters and cases. Every answers file ranks every case
(the page exports nothing else), so the mean over raters of the per-rater means equals the mean over all rankings.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report.study_page import ANSWERS_FORMAT, StudyError, read_page

COLUMNS = ["method", "mean_rank", "std_over_raters", "ci95_low", "ci95_high", "n_raters", "n_cases"]


def load_answers(path: Path, page: dict) -> tuple[str, dict[str, list[str]]]:
    """One answers file → (rater, {case: [method, best → worst]}), checked against the page's study data.

    Raises ``StudyError`` (one line, naming the file and the fix) for an unreadable file, another study's answers, an
    unknown case or label, a duplicate or missing label, or a case left unranked.
    """
    path = Path(path)
    fix = f"export the answers again from the page of study {page['study_id']} (or drop {path.name} from study=)"
    if not path.is_file():
        raise StudyError(f"answers file {path} does not exist", hint="study= takes the JSON files the page exported")
    try:
        answers = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StudyError(f"{path}: not a JSON answers file ({exc})", hint=fix) from None
    if not isinstance(answers, dict) or answers.get("format") != ANSWERS_FORMAT:
        raise StudyError(f"{path}: not a study answers file (format {ANSWERS_FORMAT!r} expected)", hint=fix)
    if answers.get("study_id") != page["study_id"]:
        raise StudyError(f"{path}: answers for study {answers.get('study_id')!r}, the page is study "
                         f"{page['study_id']!r}", hint="give study_page= the page these answers came from, or drop "
                                                       f"{path.name} from study=")
    mapping = page["mapping"]
    ranked = {}
    entries = answers.get("cases")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("ranking"), list)
                                                for e in entries):
        raise StudyError(f"{path}: 'cases' must be a list of {{case, ranking: [labels]}}", hint=fix)
    for entry in entries:
        case, ranking = entry.get("case"), [str(x) for x in entry["ranking"]]
        if case not in mapping:
            raise StudyError(f"{path}: case {case!r} is not in study {page['study_id']}", hint=fix)
        if case in ranked:
            raise StudyError(f"{path}: case {case!r} is answered twice", hint=fix)
        labels = mapping[case]
        unknown = sorted(set(ranking) - set(labels))
        if unknown:
            raise StudyError(f"{path}: case {case!r} ranks unknown label(s) {unknown} (valid: {sorted(labels)})",
                             hint=fix)
        if len(set(ranking)) != len(ranking):
            dupes = sorted({x for x in ranking if ranking.count(x) > 1})
            raise StudyError(f"{path}: case {case!r} ranks label(s) {dupes} more than once", hint=fix)
        if len(ranking) != len(labels):
            raise StudyError(f"{path}: case {case!r} ranks {len(ranking)} of {len(labels)} outputs", hint=fix)
        ranked[case] = [labels[label] for label in ranking]
    missing = sorted(set(mapping) - set(ranked))
    if missing:
        raise StudyError(f"{path}: {len(missing)} case(s) unranked, e.g. {missing[0]!r}", hint=fix)
    return str(answers.get("rater") or ""), ranked


def rater_means(rankings: list[dict[str, list[str]]]) -> pd.DataFrame:
    """[{case: [method best → worst]}] per rater → a raters × methods frame of each rater's mean rank (1 = best)."""
    rows = []
    for answer in rankings:
        ranks: dict[str, list[int]] = {}
        for order in answer.values():
            for rank, method in enumerate(order, start=1):
                ranks.setdefault(method, []).append(rank)
        rows.append({m: float(np.mean(r)) for m, r in ranks.items()})
    return pd.DataFrame(rows)


def average_rank_table(rankings: list[dict[str, list[str]]], n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """SIA Table 1's average ranks with the spread over raters, one row per method, best (lowest) first.

    ``rankings``: one {case: [method best → worst]} per rater (as :func:`load_answers` returns). The CI is the
    2.5/97.5 percentiles of the mean over ``n_resamples`` bootstrap resamples of the raters (seeded); with one rater
    the std is NaN and the CI collapses to the mean.
    """
    if not rankings:
        raise StudyError("no answers to tabulate", hint="study=[a.json,b.json] lists the answers files")
    per_rater = rater_means(rankings)
    values = per_rater.to_numpy()  # raters × methods
    n = len(values)
    draws = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    boot = values[draws].mean(axis=1)  # resamples × methods
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    table = pd.DataFrame({
        "method": per_rater.columns, "mean_rank": values.mean(axis=0),
        "std_over_raters": values.std(axis=0, ddof=1) if n > 1 else np.nan,
        "ci95_low": low, "ci95_high": high, "n_raters": n, "n_cases": len(rankings[0])})
    return table.sort_values(["mean_rank", "method"]).reset_index(drop=True)[COLUMNS]


def study_table(answer_files: list[Path], page: Path, n_resamples: int = 2000) -> tuple[pd.DataFrame, dict]:
    """Read the page's key and every answers file → (average-rank table, page data). Raises ``StudyError``."""
    data = read_page(page)
    raters: dict[str, Path] = {}
    rankings = []
    for path in answer_files:
        rater, ranked = load_answers(path, data)
        if rater in raters:
            raise StudyError(f"{path}: rater {rater!r} also answered in {raters[rater]}",
                             hint=f"give each rater's answers once (drop {Path(path).name} or the other file)")
        raters[rater] = Path(path)
        rankings.append(ranked)
    return average_rank_table(rankings, n_resamples=n_resamples), data


def to_markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """The table as GitHub Markdown: mean ± std over raters [95% CI], raters, cases."""
    lines = ["| method | avg. rank ↓ | std over raters | 95% CI over raters | raters | cases |",
             "|---|---|---|---|---|---|"]
    for row in table.itertuples():
        std = "–" if np.isnan(row.std_over_raters) else f"{row.std_over_raters:.{digits}f}"
        lines.append(f"| {row.method} | {row.mean_rank:.{digits}f} | {std} | "
                     f"[{row.ci95_low:.{digits}f}, {row.ci95_high:.{digits}f}] | {row.n_raters} | {row.n_cases} |")
    return "\n".join(lines)
