"""Conversion benchmark: slmops convert against the bare olive command, and output size per precision.

Run: .venv/bin/python benchmarks/convert.py [--model DIR] [--repeats N]

Prints the app's wall-time overhead over the guide's bare ``olive auto-opt``
command (target: at most 1.05), with and without the verify step the bare
command does not do, then the size of each precision's output against the
fp32 source weights beside the guide's expected ratio. Figures vary with
the machine's load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.guide import BIN, guide_command  # noqa: E402
from engine.base import locations  # noqa: E402
from engine.cli.output import human_bytes, print_table  # noqa: E402
from engine.onnx import genai_config  # noqa: E402

# (label, slmops convert flags, quantize embedding/lm_head too): every recipe that works on the CPU
PRECISIONS = [
    ("fp32 (mb-fp32)", ["--method", "config", "--precision", "fp32"], False),
    ("int8 (rtn-int8)", ["--precision", "int8"], False),
    ("int8 (rtn-int8) + lm_head", ["--precision", "int8"], True),
    ("int8 (dynamic-int8)", ["--recipe", "dynamic-int8"], False),
    ("int4 (guide-int4)", ["--precision", "int4"], False),
    ("int4 (mb-int4)", ["--method", "config", "--precision", "int4"], False),
    ("int4 (mb-int4) + embedding/lm_head", ["--method", "config", "--precision", "int4"], True),
    ("int4 (rtn-int4)", ["--recipe", "rtn-int4"], False),
    ("int4 (rtn-int4) + lm_head", ["--recipe", "rtn-int4"], True),
]


def timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    return time.monotonic() - started, done


def profile_file(model: Path, scratch: Path, quantize_lm_head: bool = False) -> Path:
    path = scratch / f"bench{'-lm' if quantize_lm_head else ''}.toml"
    path.write_text(f'name = "bench"\n[model]\npath = "{model}"\n[convert]\nquantize_lm_head = {str(quantize_lm_head).lower()}\n')
    return path


def slmops_convert(profile: Path, output: Path, flags: list[str], scratch: Path) -> tuple[float, dict]:
    seconds, done = timed(
        [str(BIN / "slmops"), "convert", "--profile", str(profile), "--output", str(output), "--json", *flags], scratch
    )
    if done.returncode != 0:
        sys.exit(f"slmops convert {' '.join(flags)} failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=locations.demo_model_dir(), help="a Hugging Face model folder (default: the demo model)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="timing runs of each side; the fastest counts")
    args = parser.parse_args()
    if not (args.model / "config.json").is_file():
        sys.exit(f"{args.model} is not a model folder; build the demo model first: slmops demo-model")
    scratch = Path(tempfile.mkdtemp(prefix="slmops-bench-convert-"))
    try:
        profile = profile_file(args.model.resolve(), scratch)
        bare_times, app_times, verify = [], [], []
        for run in range(args.repeats):
            out = scratch / f"bare-{run}"
            # A fresh folder per run: Olive keeps its cache in the working directory, and
            # slmops convert always starts with a cold one, so the bare side must too.
            cold = Path(tempfile.mkdtemp(prefix=f"bare-{run}-cwd-", dir=scratch))
            seconds, done = timed(guide_command(args.model, out), cold)
            if done.returncode != 0 or not genai_config.exists(out):
                sys.exit(f"bare olive failed:\n{done.stdout[-3000:]}")
            bare_times.append(seconds)
            seconds, card = slmops_convert(profile, scratch / f"app-{run}", ["--precision", "int4"], scratch)
            app_times.append(seconds)
            verify.append(card["verify_seconds"])
            print(
                f"run {run + 1}: bare olive {bare_times[-1]:.1f}s, slmops convert {seconds:.1f}s (verify {card['verify_seconds']:.1f}s)",
                flush=True,
            )
        bare, app = min(bare_times), min(app_times)
        app_no_verify = min(t - v for t, v in zip(app_times, verify))
        print(f"\nguide-int4 wall time: bare olive {bare:.1f}s, slmops convert {app:.1f}s")
        print(f"overhead ratio {app / bare:.3f} (target <= 1.05); without the verify step {app_no_verify / bare:.3f}\n")

        source = sum(f.stat().st_size for f in args.model.glob("*.safetensors"))
        rows = []
        with_lm_head = profile_file(args.model.resolve(), scratch, quantize_lm_head=True)
        for label, flags, lm_head in PRECISIONS:
            seconds, card = slmops_convert(with_lm_head if lm_head else profile, scratch / f"p-{len(rows)}", flags, scratch)
            rows.append(
                [
                    label,
                    human_bytes(card["size_bytes"]),
                    f"{card['size_bytes'] / source:.3f}",
                    card["guide_ratio"],
                    f"{seconds:.1f}s",
                    card["answer"][:40].replace("\n", " "),
                ]
            )
            print(f"{label}: done", file=sys.stderr, flush=True)
        print(f"output size against the fp32 source weights ({human_bytes(source)}):")
        print_table(["precision (recipe)", "size", "ratio", "guide", "time", "answer"], rows)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
