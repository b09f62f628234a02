"""The pipeline's final report, as JSON for scripts and Markdown for people."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from engine.base.atomic import write_text_atomic
from engine.bench.latency import tail_cell
from engine.profiles.profile import Profile

REPORT_JSON = "report.json"
REPORT_MD = "report.md"


def _mb(n: Any) -> str:
    return f"{n / 2**20:.1f} MB" if isinstance(n, (int, float)) else "-"


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return " ".join(str(value).split()).replace("|", "\\|")  # one line per row, whatever a model answered


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows),
    ]


def markdown(report: dict[str, Any]) -> str:
    stages = report["stages"]
    lines = [
        f"# slmops pipeline: {report['profile']}",
        "",
        f"**{'Succeeded' if report['ok'] else 'Did not finish'}** on {report['created']} in {report['duration_s']:.0f} s.",
        "",
    ]
    lines += _table(
        ["stage", "status", "time", "note"],
        [
            [name, s["status"], f"{s.get('duration_s', 0):.1f} s", s.get("message") or s.get("detail") or ""]
            for name, s in stages.items()
        ],
    )
    failed = next((s for s in stages.values() if s["status"] == "failed"), None)
    if failed:
        lines += ["", f"**What went wrong:** {failed.get('message', '')}", "", f"**What to do:** {failed.get('hint', '')}"]
    convert = (stages.get("convert") or {}).get("outputs") or {}
    if convert:
        same_as = f", the model of `{convert['same_as']}`" if convert.get("same_as") else ""  # the streaming converter ran
        lines += ["", "## Conversion", "", f"`{convert.get('command', '')}`{same_as}", ""]
        # a list, not a table: a path and a model's answer read in full at any width (a table's cells are squeezed)
        lines += [
            f"- recipe: {_cell(convert.get('recipe'))}",
            f"- output: {_cell(convert.get('output_path'))}",
            f"- size: {_mb(convert.get('size_bytes'))}, {_cell(convert.get('ratio'))} x the source's; "
            f"the guide's ratio {_cell(convert.get('guide_ratio'))}",
            f"- took {'no time: up to date' if convert.get('reused') else format(convert.get('duration_s', 0), '.1f') + ' s'}, "
            f"peak memory {_mb(convert.get('peak_rss_bytes'))}",
            f"- answer: {_cell(convert.get('answer'))}",
        ]
    deploy = (stages.get("deploy") or {}).get("outputs") or {}
    if deploy:
        lines += ["", "## Deployment to Foundry Local", ""]
        lines += [
            f"- model id: {_cell(deploy.get('model_id'))}",
            f"- folder: {_cell(deploy.get('folder'))}",
            f"- template: {_cell(deploy.get('template_family'))}",
        ]
        lines += [f"- warning: {w}" for w in deploy.get("warnings", [])]
    bench = (stages.get("bench") or {}).get("outputs") or {}
    if bench:
        lines += ["", "## Benchmark", ""]
        lines += _table(
            ["input tokens", "TTFT ms", "prefill tok/s", "decode tok/s", "e2e p50 ms", "e2e tail ms"],
            [
                [
                    r.get("input_tokens"),
                    r.get("ttft_ms"),
                    r.get("prefill_tps"),
                    r.get("decode_tps"),
                    r.get("e2e_p50_ms"),
                    tail_cell(r),
                ]
                for r in bench.get("latency", [])
            ],
        )
        row = (bench.get("comparison") or [{}])[0]
        lines += [
            "",
            f"- peak memory: {row.get('peak_rss_mb')} MB",
            f"- memory soak: {row.get('soak') or '-'}",
            f"- edge cases handled: {row.get('edge_handled') or '-'}",
            f"- evaluation pass rate: {_cell(row.get('pass_rate'))}; perplexity: {_cell(row.get('perplexity'))}",
            f"- full benchmark run: {bench.get('saved_to') or '-'}",
        ]
    checks = ((stages.get("checks") or {}).get("outputs") or {}).get("checks") or []
    if checks:
        lines += ["", "## Environment", ""]
        lines += _table(["check", "status", "value"], [[c["name"], c["status"], c["value"]] for c in checks])
    return "\n".join(lines) + "\n"


def write_report(
    workdir: Path, profile: Profile, stages: dict[str, dict[str, Any]], *, ok: bool, duration_s: float
) -> dict[str, Any]:
    report = {
        "profile": profile.name,
        "profile_path": str(profile.source or ""),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "ok": ok,
        "duration_s": round(duration_s, 1),
        "workdir": str(workdir),
        "stages": stages,
    }
    write_text_atomic(workdir / REPORT_JSON, json.dumps(report, indent=2, default=str) + "\n")
    write_text_atomic(workdir / REPORT_MD, markdown(report))
    report["report_md"] = str(workdir / REPORT_MD)
    report["report_json"] = str(workdir / REPORT_JSON)
    return report
