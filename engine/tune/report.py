"""The tuning report on disk: report.json, candidates.csv, threads.csv and tune.md in one run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.atomic import write_text_atomic
from engine.bench.runs import save_run
from engine.profiles import Profile
from engine.tune.chart import frontier_chart

COLUMNS = ("rank", "name", "recipe", "size_mb", "decode_tps", "ttft_ms_short", "ttft_ms_long", "prefill_tps_long",
           "peak_rss_mb", "pass_rate", "perplexity", "similarity", "keeps_quality", "on_frontier", "error")


def table_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per candidate, in rank order: the CSV, the Markdown and the app's table."""
    rows = []
    for c in report["candidates"]:
        row = {k: c.get(k) for k in COLUMNS}
        row["size_mb"] = round(c["size_bytes"] / 2**20, 1) if c.get("size_bytes") else None
        row["peak_rss_mb"] = round(c["peak_rss_bytes"] / 2**20, 1) if c.get("peak_rss_bytes") else None
        row["perplexity"] = round(c["perplexity"], 3) if c.get("perplexity") is not None else None
        row["settings"] = " ".join(f"{k}={v}" for k, v in (c.get("settings") or {}).items())
        rows.append(row)
    return rows


def speedup(report: dict[str, Any], name: str | None, over: str = "guide-int4") -> float | None:
    """Decode speed of ``name`` as a multiple of ``over``'s, measured in the same run."""
    by_name = {c["name"]: c for c in report["candidates"] if not c.get("error")}
    a, b = by_name.get(name or ""), by_name.get(over)
    if not a or not b or not a.get("decode_tps") or not b.get("decode_tps"):
        return None
    return round(a["decode_tps"] / b["decode_tps"], 2)


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
        f"**Chosen: {report['chosen'] or 'none'}**"
        + (f" ({speedup(report, report['chosen'])}x the decode speed of the guide's auto-opt int4)" if speedup(report, report["chosen"]) else ""),
        "",
        "| " + " | ".join(("settings", *COLUMNS)) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for row in rows:
        lines.append("| " + " | ".join("" if row[k] is None else str(row[k]) for k in ("settings", *COLUMNS)) + " |")
    if report.get("skipped"):
        lines += ["", f"Not run (cancelled): {', '.join(report['skipped'])}"]
    if report.get("threads"):
        lines += ["", "## ONNX Runtime intra-op threads (chosen recipe)", "",
                  "| threads | decode tok/s | TTFT short ms | TTFT long ms | CPU % |", "|---|---|---|---|---|"]
        for t in report["threads"]:
            lines.append(f"| {t['intra_op_threads']} | {t.get('decode_tps')} | {t.get('ttft_ms_short')} | {t.get('ttft_ms_long')} | "
                         f"{t.get('mean_cpu_percent')} |" if not t.get("error") else f"| {t['intra_op_threads']} | failed: {t['error']} | | | |")
    lines += ["", "## Frontier: size against decode speed", "", "```", frontier_chart(report["candidates"], report["chosen"]), "```", ""]
    return "\n".join(lines)


def save_report(report: dict[str, Any], profile: Profile) -> Path:
    folder = save_run(report, {"candidates": table_rows(report), "threads": report.get("threads") or []},
                      profile.to_toml(), f"tune-{profile.name}")
    write_text_atomic(folder / "tune.md", markdown(report), overwrite=True)
    return folder
