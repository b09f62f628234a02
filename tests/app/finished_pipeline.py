"""A finished pipeline's report, with every section, and a pipeline screen that shows it without running anything.

The report is the engine's own Markdown (engine.pipeline.report) of fixed stage outputs, so that what the
screen shows is the same on every machine: for the snapshots and for the keys that read it.
"""

from __future__ import annotations

from pathlib import Path

from engine.pipeline.report import markdown
from engine.profiles.profile import Profile
from tui.screens.pipeline import PipelineDone, PipelineScreen

FIXED = "/tmp/slmops-snapshot"  # never created: nothing is read from or written there
CHECKS = ["Python", "RAM", "disk", "olive-ai", "onnxruntime", "onnxruntime-genai", "CPU", "Foundry Local"]


def finished_report() -> dict:
    stages = {
        "checks": {
            "status": "done",
            "duration_s": 0.3,
            "outputs": {"checks": [{"name": name, "status": "pass", "value": "ok"} for name in CHECKS]},
        },
        "convert": {
            "status": "done",
            "duration_s": 61.2,
            "outputs": {
                "command": f"olive auto-opt --model_name_or_path {FIXED}/model --precision int4 --output_path {FIXED}/out",
                "recipe": "rtn-int4-b128-head8",
                "output_path": f"{FIXED}/out",
                "size_bytes": 180 * 2**20,
                "ratio": 0.28,
                "guide_ratio": 0.3,
                "duration_s": 61.2,
                "peak_rss_bytes": 2 * 2**30,
                "answer": "Paris.",
            },
        },
        "verify": {"status": "done", "duration_s": 4.1},
        "deploy": {
            "status": "done",
            "duration_s": 1.0,
            "outputs": {"model_id": "snapshot-int4:1", "folder": f"{FIXED}/cache/snapshot-int4", "template_family": "chatml"},
        },
        "bench": {
            "status": "done",
            "duration_s": 12.5,
            "outputs": {
                "latency": [
                    {"input_tokens": n, "ttft_ms": 40.0 * n / 32, "prefill_tps": 800.0, "decode_tps": 150.0, "e2e_p50_ms": 900.0}
                    for n in (32, 256, 1024)
                ],
                "comparison": [
                    {"peak_rss_mb": 420.0, "soak": "flat", "edge_handled": "3/3", "pass_rate": 1.0, "perplexity": 12.3}
                ],
                "saved_to": f"{FIXED}/runs/bench.json",
            },
        },
    }
    return {"profile": "snapshot", "created": "2026-12-06 12:00:00", "ok": True, "duration_s": 79.1, "stages": stages}


class FinishedPipelineScreen(PipelineScreen):
    """The pipeline screen as a run leaves it: the report on show, its stages done; nothing is run."""

    def __init__(self, report_md: Path) -> None:
        super().__init__(Profile(name="snapshot"))
        self.report_md = report_md

    def _begin(self, *, confirmed: bool) -> None:
        self.started = 1000.0
        report = finished_report()
        self.report_md.write_text(markdown(report), encoding="utf-8")
        self.post_message(PipelineDone({**report, "report_md": str(self.report_md)}))
