"""The tuning report on disk: report.json, candidates.csv, settings.csv and tune.md in one run folder.

Speeds are medians of alternating runs with their spread (min-max), and each
comparison with the guide's recipe is the median of per-pair ratios.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.base.atomic import write_text_atomic
from engine.bench.runs import save_run
from engine.bench.stats import MIN_PAIRS
from engine.profiles.profile import Profile
from engine.tune.chart import frontier_chart
from engine.tune.frontier import GUIDE, measured
from engine.tune.timing import ratio_text

COLUMNS = (
    "rank",
    "name",
    "recipe",
    "size_mb",
    "decode_tps",
    "decode_range",
    "vs_guide",
    "beats_guide",
    "ttft_ms_short",
    "ttft_ms_long",
    "prefill_tps_long",
    "peak_rss_mb",
    "pass_rate",
    "perplexity",
    "similarity",
    "keeps_quality",
    "on_frontier",
    "error",
)
SETTINGS_COLUMNS = (
    "candidate",
    "session_options",
    "decode_tps",
    "decode_range",
    "vs_guide",
    "vs_default",
    "ttft_ms_short",
    "ttft_ms_long",
    "ttft_long_vs_guide",
    "prefill_tps_long",
    "peak_rss_mb",
    "error",
)


def _range(spread: dict[str, Any] | None) -> str | None:
    return f"{spread['low']:.1f}-{spread['high']:.1f}" if spread else None


def table_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per candidate, in rank order: the CSV, the Markdown and the app's table."""
    rows = []
    for c in report["candidates"]:
        row = {k: c.get(k) for k in COLUMNS}
        row["size_mb"] = round(c["size_bytes"] / 2**20, 1) if c.get("size_bytes") else None
        row["peak_rss_mb"] = round(c["peak_rss_bytes"] / 2**20, 1) if c.get("peak_rss_bytes") else None
        row["perplexity"] = round(c["perplexity"], 3) if c.get("perplexity") is not None else None
        row["settings"] = " ".join(f"{k}={v}" for k, v in (c.get("settings") or {}).items())
        row["decode_range"] = _range(c.get("decode_tps_spread"))
        row["vs_guide"] = ratio_text((c.get("vs_guide") or {}).get("decode_tps")) if c.get("vs_guide") else None
        row["measured"] = measured(c)
        rows.append(row)
    return rows


def settings_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per timed setting of the chosen recipe (the first: the guide's recipe at default settings)."""
    rows = []
    for t in report.get("settings") or []:
        vs = t.get("vs_guide") or {}
        rows.append(
            {
                "candidate": t["candidate"],
                "session_options": " ".join(f"{k}={v}" for k, v in t["session_options"].items()) or "defaults",
                "decode_tps": t.get("decode_tps"),
                "decode_range": _range(t.get("decode_tps_spread")),
                "vs_guide": ratio_text(vs.get("decode_tps")),
                "vs_default": ratio_text(t.get("decode_vs_default")),
                "ttft_ms_short": t.get("ttft_ms_short"),
                "ttft_ms_long": t.get("ttft_ms_long"),
                "ttft_long_vs_guide": ratio_text(vs.get("ttft_ms_long")),
                "prefill_tps_long": t.get("prefill_tps_long"),
                "peak_rss_mb": round(t["peak_rss_bytes"] / 2**20, 1) if t.get("peak_rss_bytes") else None,
                "error": t.get("error"),
            }
        )
    return rows


def verdict_line(report: dict[str, Any]) -> str:
    """Why this run gives no verdict ("" when it does): quick runs and runs with too few pairs only report."""
    if report.get("judged", True):
        return ""
    return (
        f"no verdict: {report.get('runs')} pairs per comparison, {MIN_PAIRS} needed; the figures are reported, "
        "and the guide's recipe is not replaced on them"
    )


def chosen_none(report: dict[str, Any]) -> str:
    """Why nothing is chosen."""
    if report.get("state") != "complete":
        return "none: not every candidate was measured"
    return "none within the quality bound"


def chosen_note(report: dict[str, Any]) -> str:
    return next((c.get("choice_note") or "" for c in report["candidates"] if c["name"] == report.get("chosen")), "")


def chosen_setting_row(report: dict[str, Any]) -> dict[str, Any] | None:
    """The timed row of the chosen recipe with the chosen settings (the figures a deployment of it gets)."""
    chosen = report.get("chosen_settings") or {}
    return next(
        (
            t
            for t in report.get("settings") or []
            if t["candidate"] == report.get("chosen") and t["session_options"] == chosen and not t.get("error")
        ),
        None,
    )


def speedup(report: dict[str, Any], name: str | None) -> float | None:
    """Decode speed of ``name`` as a multiple of the guide's recipe's, both at default settings: the median of
    the ratios of side-by-side runs (1.0 for the guide's recipe itself)."""
    row = next((c for c in report["candidates"] if c["name"] == name and not c.get("error")), None)
    if row is None:
        return None
    if row["name"] == GUIDE:
        return 1.0
    ratio = (row.get("vs_guide") or {}).get("decode_tps") or {}
    return round(ratio["median"], 2) if "median" in ratio else None


def markdown(report: dict[str, Any]) -> str:
    rows = table_rows(report)
    bound = report["bound"]
    lines = [
        f"# Recipe tuning of profile {report['name']}",
        "",
        f"{report['created']}, {report['duration_s']} s, {report['state']}{', quick settings' if report.get('quick') else ''}.",
        f"Quality bound: perplexity at most +{bound['max_ppl_increase']:.0%} over fp32"
        + (", evaluation pass rate no lower than fp32's." if bound["keep_pass_rate"] else "."),
        "",
        f"**Chosen: {report['chosen'] or chosen_none(report)}**"
        + (
            f" ({speedup(report, report['chosen'])}x the decode speed of the guide's auto-opt int4, median of per-pair ratios)"
            if speedup(report, report["chosen"])
            else ""
        )
        + (f" ({note})" if (note := chosen_note(report)) else ""),
        "",
        f"Speed: {report.get('runs')} runs of each candidate alternating with the guide's recipe, both at default settings, "
        "a fresh worker each; decode over the same number of generated tokens on both sides; medians, [min-max], and "
        f"vs_guide the median [min-max] of per-pair ratios. A candidate replaces the guide's recipe only when it gained "
        f"in every one of at least {MIN_PAIRS} pairs (decode, first token, prefill or peak memory) without decoding "
        "slower in every pair (beats_guide).",
        *([f"**{line}**"] if (line := verdict_line(report)) else []),
        "",
        "| " + " | ".join(("settings", *COLUMNS)) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for row in rows:
        lines.append("| " + " | ".join("" if row[k] is None else str(row[k]) for k in ("settings", *COLUMNS)) + " |")
    if report.get("skipped"):
        lines += ["", f"Not run (cancelled): {', '.join(report['skipped'])}"]
    if report.get("settings"):
        chosen = report.get("chosen_settings") or {}
        lines += [
            "",
            f"## Runtime settings of {report['chosen']}, each against the guide's recipe at default settings",
            "",
            f"{report.get('runs')} alternating runs, fresh worker each; medians [min-max], ratios per pair.",
            "",
            f"**Settings to apply: {' '.join(f'{k}={v}' for k, v in chosen.items()) or 'none'}**",
            "",
            "| " + " | ".join(SETTINGS_COLUMNS) + " |",
            "|" + "---|" * len(SETTINGS_COLUMNS),
        ]
        for row in settings_rows(report):
            lines.append("| " + " | ".join("" if row[k] is None else str(row[k]) for k in SETTINGS_COLUMNS) + " |")
    lines += [
        "",
        "## Frontier: size against decode speed",
        "",
        "```",
        frontier_chart(report["candidates"], report["chosen"]),
        "```",
        "",
    ]
    return "\n".join(lines)


def save_report(report: dict[str, Any], profile: Profile) -> Path:
    folder = save_run(
        report, {"candidates": table_rows(report), "settings": settings_rows(report)}, profile.to_toml(), f"tune-{profile.name}"
    )
    write_text_atomic(folder / "tune.md", markdown(report), overwrite=True)
    return folder
