"""Filter and pick runs, then aggregate our rows over seeds (mean ± std, or a bootstrap confidence interval).

Numbers are only ever combined within one protocol hash: the hash covers every setting that determines a number
(metric implementation and weights, sample counts, data), so rows with different hashes are different settings.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from core.errors import BenchError

# A configuration: the same protocol setting, scale, seed, method row and method parameters (``setting``, a short
# hash of the method run's logged ``method.*`` params; "" when the store has no method runs). ``latest`` keeps its
# newest successful run.
CONFIG_KEY = ["protocol", "protocol_hash", "scale", "seed", "method", "setting"]
# One aggregated row: everything but the seed.
ROW_KEY = ["protocol", "protocol_hash", "method", "method_class", "variant_of", "scale", "calibrated", "metric",
           "translation"]
# A published number once per protocol setting: each run logs the reported rows with the caveat of its own data
# source, so the same paper row reaches a stand-in setting and a real-data setting with different captions.
REPORTED_KEY = ["protocol", "protocol_hash", "method", "metric", "translation"]


def as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def apply_filters(rows: pd.DataFrame, protocol=None, method=None, scale=None, include_tuning: bool = False
                  ) -> pd.DataFrame:
    """Keep rows of the named protocols / methods / scales (each a list or comma-separated string; empty = all).

    A method name matches a row label or its registered class (so ``munit`` keeps MUNIT's ablation variants) and
    reported rows case-insensitively (papers write ``MUNIT``). Scale filters apply to our rows only: reported rows
    have no scale. Trials of ``bench tune`` studies are left out unless ``include_tuning``.
    """
    keep = pd.Series(True, index=rows.index)
    if not include_tuning and "tuning" in rows:
        keep &= ~rows["tuning"].astype(bool)
    if protocols := as_list(protocol):
        keep &= rows["protocol"].isin(protocols)
    if methods := {m.lower() for m in as_list(method)}:
        keep &= rows["method"].str.lower().isin(methods) | rows["method_class"].str.lower().isin(methods)
    if scales := as_list(scale):
        keep &= rows["scale"].isin(scales) | (rows["source"] != "ours")
    return rows[keep]


UNSETTLED = {"running", "killed"}  # statuses of method runs without a result


def select_runs(rows: pd.DataFrame, mode: str = "latest", runs=None) -> pd.DataFrame:
    """``latest``: per configuration (protocol, hash, scale, seed, method label, method parameters) the newest
    successful run's rows; when none succeeded, the newest finished one (a run still training or stopped hides a
    finished one only when there is none: the table then says RUNNING/KILLED). A newer run that failed (or was
    refused/stopped) next to an older successful one is named in the kept rows' note, with its MLflow run id.
    Runs of one method label with different method parameters are different configurations: each keeps its own
    rows, labelled ``<method> #<setting>`` when one protocol setting holds more than one (``label_settings``).
    ``all``: every run (repeated runs of one seed are then averaged like seeds). ``runs``: only these run names/ids.
    Reported rows: the newest copy of each published number per protocol setting (``REPORTED_KEY``)."""
    if mode not in {"latest", "all"}:
        raise BenchError(f"unknown run selection {mode!r}", hint="use select=latest or select=all")
    if picked := as_list(runs):
        rows = rows[rows["run_id"].isin(picked) | rows["run_name"].isin(picked)]
        if rows.empty:
            raise BenchError(f"none of the runs {picked} is in the store (after filters)",
                             hint="pass run names as shown in the report's run list, or MLflow run ids")
    if "setting" not in rows:
        rows = rows.assign(setting="")
    ours = rows[rows["source"] == "ours"]
    reported = rows[rows["source"] != "ours"]
    reported = reported.sort_values("run_start").drop_duplicates(REPORTED_KEY, keep="last")
    if mode == "latest" and not ours.empty:
        ours = _latest(ours)
    return pd.concat([label_settings(ours), reported], ignore_index=True)


def _latest(ours: pd.DataFrame) -> pd.DataFrame:
    key = ours[CONFIG_KEY].astype(str).agg("|".join, axis=1)
    ok_run = (ours["status"] == "ok").groupby([key, ours["run_id"]]).transform("any")
    has_ok = ok_run.groupby(key).transform("any")
    settled = ~ours["status"].isin(UNSETTLED)
    # prefer the runs that succeeded; else the finished ones; else whatever there is (RUNNING/KILLED)
    rank = ok_run.astype(int) * 2 + settled.astype(int)
    best = rank.groupby(key).transform("max")
    keep = rank == best
    newest = ours["run_start"].where(keep).groupby(key).transform("max")
    chosen = keep & (ours["run_start"] == newest)
    out = ours[chosen].copy()
    newer = ours[~chosen & has_ok & (ours["run_start"] > newest)]
    for k, g in newer.groupby(key[newer.index], sort=False):
        said = "; ".join(f"a newer attempt ended {s} (run {rid})"
                         for rid, s in dict.fromkeys(zip(g["run_id"], g["status"], strict=True)))
        target = key[out.index] == k
        out.loc[target, "note"] = [f"{said}; {n}" if n else said for n in out.loc[target, "note"]]
    return out


def label_settings(ours: pd.DataFrame) -> pd.DataFrame:
    """Our rows whose method label holds several method settings in one protocol setting (and scale) get the
    setting in the label, ``cocosnet #1a2b3c``, so different parameters never share a row (or a leaderboard line)."""
    if ours.empty or not ours["setting"].astype(bool).any():
        return ours
    group = ["protocol", "protocol_hash", "scale", "method"]
    counts = ours.groupby(group)["setting"].transform("nunique")
    several = (counts > 1) & (ours["setting"] != "")
    ours = ours.copy()
    if "setting_params" in ours:  # name the parameters that differ between the settings of one label
        for _, g in ours[several].groupby(group):
            merged = [p if isinstance(p, dict) else {} for p in g["setting_params"]]
            differ = sorted({k for p in merged for k in p if len({str(q.get(k)) for q in merged}) > 1})
            said = [", ".join(f"{k}={p.get(k)}" for k in differ) for p in merged]
            ours.loc[g.index, "note"] = [f"method setting: {d}; {n}" if n else f"method setting: {d}"
                                         for d, n in zip(said, g["note"], strict=True)]
    ours.loc[several, "method"] = ours.loc[several, "method"] + " #" + ours.loc[several, "setting"]
    return ours


def bootstrap_ci(values: np.ndarray, n_resamples: int = 2000, level: float = 0.95, seed: int = 0
                 ) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over seeds (resampling whole seeds; ``n_resamples`` random draws,
    so with n values only C(2n−1, n) distinct resamples exist: 10 for n = 3, see ``bench.report.seeds``)."""
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(n_resamples, values.size), replace=True).mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def _n_text(ns: list[int]) -> str:
    ns = sorted({int(n) for n in ns})
    if not ns:
        return ""
    return str(ns[0]) if len(ns) == 1 else f"{ns[0]}–{ns[-1]}"


def aggregate(rows: pd.DataFrame, uncertainty: str = "std", n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One line per ROW_KEY. Columns: value (mean over seeds), std, ci_low/ci_high, err_kind (what the spread is),
    seeds, seed_list, n (samples per seed), status, note, runs, direction, source."""
    if uncertainty not in {"std", "ci95"}:
        raise BenchError(f"unknown uncertainty {uncertainty!r}", hint="use uncertainty=std or uncertainty=ci95")
    out = []
    ours = rows[rows["source"] == "ours"]
    for key, group in ours.groupby(ROW_KEY, sort=False, dropna=False):
        record = dict(zip(ROW_KEY, key, strict=True))
        ok = group[(group["status"] == "ok") & group["value"].notna()]
        values = ok["value"].to_numpy(float)
        seeds = sorted({int(s) for s in group["seed"].dropna()})
        record.update(direction=next((d for d in group["direction"] if d), ""), source="ours",
                      seeds=len(values), seed_list=",".join(map(str, seeds)), n=_n_text(ok["n"].dropna().tolist()),
                      runs=",".join(dict.fromkeys(group["run_name"])), std=np.nan, ci_low=np.nan, ci_high=np.nan,
                      value=np.nan, err_kind="", data_source=",".join(dict.fromkeys(group["data_source"])))
        notes = list(dict.fromkeys(n for n in group["note"] if n))
        if len(values):
            record["status"] = "ok"
            record["value"] = float(values.mean())
            if len(values) >= 2:
                # select=all may hold repeated runs of one seed: say runs, not seeds, when they differ
                ok_seeds = len(set(ok["seed"].dropna()))
                over = f"{len(values)} seeds" if len(values) == ok_seeds else f"{len(values)} runs ({ok_seeds} seeds)"
                record["std"] = float(values.std(ddof=1))
                record["err_kind"] = f"σ over {over}"
                if uncertainty == "ci95":
                    record["ci_low"], record["ci_high"] = bootstrap_ci(values, n_resamples, seed=seed)
                    record["err_kind"] = f"95% CI (bootstrap over {over})"
            elif ok["std"].notna().any():
                record["std"] = float(ok["std"].iloc[0])
                record["err_kind"] = "σ over samples (1 seed)"
            if len(group) > len(values):
                bad = Counter(s for s in group["status"] if s != "ok")
                notes.insert(0, f"{sum(bad.values())} of {len(group)} runs {'/'.join(bad)}")
        else:
            record["status"] = Counter(group["status"]).most_common(1)[0][0]
        record["note"] = "; ".join(notes)
        out.append(record)
    for _, r in rows[rows["source"] != "ours"].iterrows():
        out.append({**{k: r[k] for k in ROW_KEY}, "direction": r["direction"], "source": r["source"], "seeds": 0,
                    "seed_list": "", "n": "" if pd.isna(r["n"]) else str(int(r["n"])), "runs": "",
                    "std": r["std"], "ci_low": np.nan, "ci_high": np.nan, "value": r["value"],
                    "err_kind": "reported", "status": "reported", "note": r["note"], "data_source": ""})
    columns = [*ROW_KEY, "source", "direction", "value", "std", "ci_low", "ci_high", "err_kind", "seeds",
               "seed_list", "n", "status", "note", "runs", "data_source"]
    return pd.DataFrame(out, columns=columns)
