"""The guide's deployment against slmops' in Foundry Local, through the SDK's own chat session, in one run.

    .venv/bin/python benchmarks/foundry.py [--model HF_DIR] [--runs 5] [--reuse]

Both sides start from the same Hugging Face folder (default: the Qwen2.5-Coder-0.5B
built-in, else the SmolLM2 demo):

- the guide's: ``olive auto-opt ... --precision int4`` exactly as the guide runs
  it, copied into ``<cache>/custom/<name>/`` with the guide's
  ``inference_model.json``; genai_config.json as Olive wrote it (default settings);
- slmops': the tuned recipe (``--candidate``, default the tuner's winner on the Qwen
  built-in; on another model, the recipe a new profile starts from untuned) converted by slmops' convert and deployed by slmops' deploy, so the
  figures are what a user of slmops gets (recipe, the runtime settings deploy
  writes, and the context window bounded by the profile's max_length).

Each run loads each side in a fresh worker process (the Foundry Local runtime in
process, a ``ChatSession`` per request, streaming, as a user's client does),
makes one warm-up request, then: a short prompt (decode tokens/s, time to first
token), a 512-token prompt (time to first token), a 2,000-token prompt (peak
memory: the worker's high-water mark, VmHWM). Sides alternate (A B, B A, ...)
so that the machine's load hits both; the figures are medians [min-max] and the
comparisons are medians of per-run ratios. On the Qwen built-in the issue's
targets are printed with MET / NOT MET; on other models the same figures, no target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.guide import guide_command  # noqa: E402
from engine.backends import make_backend  # noqa: E402
from engine.backends.base import GenerationRequest  # noqa: E402
from engine.base import locations  # noqa: E402
from engine.bench.latency import generate_once  # noqa: E402
from engine.bench.prompts import prompt_of_length  # noqa: E402
from engine.bench.runner import folder_size  # noqa: E402
from engine.onnx import genai_config  # noqa: E402
from engine.profiles.recommended import UNTUNED_DEFAULT as WINNER  # noqa: E402

QWEN = "Qwen2.5-Coder-0.5B-Instruct"
SLMOPS_CANDIDATE = "rtn-int4-b128-prune"  # the tuner's pick on the Qwen built-in: RTN int4, lm_head too, last-token logits
SHORT_PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]
# (what, higher is better, target ratio slmops / guide) on the Qwen built-in
TARGETS = {"decode_tps": (True, 1.5), "ttft_ms_512": (False, 0.6), "peak_bytes_2000": (False, 0.5)}
GUIDE_INFERENCE_MODEL = {  # the guide's inference_model.json (step 2), its Qwen (ChatML) template
    "Description": "Fine-tuned quantized model",
    "Version": "1.0",
    "PromptTemplate": {
        "system": "<|im_start|>system\n{Content}<|im_end|>",
        "user": "<|im_start|>user\n{Content}<|im_end|>",
        "assistant": "<|im_start|>assistant\n{Content}<|im_end|>",
        "prompt": "<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant",
    },
    "ModelConfig": {"max_length": 2048, "temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1},
}


def guide_convert(model: Path, output: Path) -> None:
    """The guide's command, run as the guide runs it (in a fresh working directory: Olive caches there)."""
    cwd = Path(tempfile.mkdtemp(prefix="guide-olive-"))
    try:
        done = subprocess.run(
            guide_command(model, output),
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    if done.returncode != 0 or not (output / "genai_config.json").is_file():
        sys.exit(f"the guide's olive auto-opt failed:\n{(done.stdout + done.stderr)[-3000:]}")


def guide_deploy(converted: Path, cache: Path, name: str) -> Path:
    """Step 2 of the guide: the model files and its inference_model.json in ``<cache>/custom/<name>/``."""
    folder = cache / "custom" / name
    shutil.copytree(converted, folder)
    (folder / "inference_model.json").write_text(json.dumps({"Name": name, **GUIDE_INFERENCE_MODEL}, indent=2))
    return folder


def model_profile(model: Path):
    """The built-in's shipped profile (qwen for the Qwen built-in, when shipped; else demo), pointed at ``model``."""
    from engine.profiles.profile import ProfileError, find_profile

    try:
        profile = find_profile("qwen" if model.name == QWEN else "demo")
    except ProfileError:  # no Qwen profile shipped: the demo's settings, on this model
        profile = find_profile("demo")
    profile.model.path = str(model)
    return profile


def slmops_convert_and_deploy(model: Path, candidate_name: str, output: Path, cache: Path, reuse: bool) -> Path:
    """slmops' own path: the candidate's recipe into the profile (what ``tune --apply`` writes), slmops convert,
    then slmops deploy into ``cache``; the deployed folder."""
    from engine.convert.plan import run_conversion
    from engine.foundry.publish import plan_publish, publish
    from engine.recipes.candidates import parse_candidate
    from engine.tune.runner import candidate_profile

    profile = candidate_profile(model_profile(model), parse_candidate(candidate_name))
    profile.convert.output = str(output)
    if not (reuse and (output / "genai_config.json").is_file()):
        job = asyncio.run(run_conversion(profile))
        if not job.finished.ok:
            sys.exit(f"slmops convert failed: {job.error}")
    plan = asyncio.run(
        publish(plan_publish(profile, output, cache, name=f"slmops-{model.name.lower()}", use_tokenizer_template=True))
    )
    return plan.slot.folder


def vm_hwm(pid: int | None) -> int | None:
    """The process's peak resident memory (VmHWM) in bytes: exact, not sampled."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, TypeError):
        pass
    return None


async def side_run(folder: Path, cache: Path, new_tokens: int) -> dict:
    """One run in a fresh Foundry Local worker: warm-up, short prompt, 512 tokens, 2,000 tokens."""
    async with make_backend("foundry-local", folder, cache_dir=str(cache)) as backend:
        await generate_once(backend, GenerationRequest(SHORT_PROMPT, max_new_tokens=8))  # warm-up
        short = await generate_once(backend, GenerationRequest(SHORT_PROMPT, max_new_tokens=new_tokens))
        messages, tokens_512 = await prompt_of_length(backend, 512)
        mid = await generate_once(backend, GenerationRequest(messages, max_new_tokens=16))
        messages, tokens_2000 = await prompt_of_length(backend, 2000)
        long = await generate_once(backend, GenerationRequest(messages, max_new_tokens=16))
        return {
            "decode_tps": short["decode_tps"],
            "ttft_ms_short": short["ttft_ms"],
            "tokens_out": short["tokens_out"],
            "ttft_ms_512": mid["ttft_ms"],
            "tokens_512": tokens_512,
            "ttft_ms_2000": long["ttft_ms"],
            "tokens_2000": tokens_2000,
            "peak_bytes_2000": vm_hwm(backend.pid),
            "load_s": backend.resident.load_s,
        }


def med(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    values = [v / scale for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def session_options(folder: Path) -> str:
    options = {
        k: v
        for k, v in genai_config.session_options(genai_config.read(folder)).items()
        if k not in ("log_id", "provider_options")
    }
    return " ".join(f"{k}={v}" for k, v in options.items()) or "defaults (none set)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    qwen = locations.demo_model_dir().parent / QWEN
    parser.add_argument(
        "--model",
        type=Path,
        default=qwen if qwen.is_dir() else locations.demo_model_dir(),
        help="the Hugging Face folder both sides start from",
    )
    parser.add_argument(
        "--candidate",
        help=f"slmops' recipe, as a tuner candidate (default {SLMOPS_CANDIDATE} on the Qwen built-in, else {WINNER})",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128, help="new tokens of the short prompt (decode speed)")
    parser.add_argument("--reuse", action="store_true", help="keep the conversions of an earlier run of this script")
    args = parser.parse_args()
    model = args.model.expanduser().resolve()
    args.candidate = args.candidate or (SLMOPS_CANDIDATE if model.name == QWEN else WINNER)
    work = locations.models_dir() / f"bench-foundry-{model.name}"
    cache = work / "foundry-cache"  # a private cache: nothing of the user's is touched
    shutil.rmtree(cache, ignore_errors=True)
    guide_out, slmops_out = work / "guide-int4", work / f"slmops-{args.candidate.replace(':', '_')}"
    if not (args.reuse and (guide_out / "genai_config.json").is_file()):
        shutil.rmtree(guide_out, ignore_errors=True)
        print("converting the guide's way (olive auto-opt int4) ...", file=sys.stderr, flush=True)
        guide_convert(model, guide_out)
    print(f"converting and deploying the slmops way ({args.candidate}) ...", file=sys.stderr, flush=True)
    sides = {
        "guide": guide_deploy(guide_out, cache, f"guide-{model.name.lower()}-int4"),
        "slmops": slmops_convert_and_deploy(model, args.candidate, slmops_out, cache, args.reuse),
    }
    runs: dict[str, list[dict]] = {"guide": [], "slmops": []}
    for i in range(args.runs):
        for side in ("guide", "slmops") if i % 2 == 0 else ("slmops", "guide"):
            runs[side].append(asyncio.run(side_run(sides[side], cache, args.tokens)))
            r = runs[side][-1]
            print(
                f"run {i + 1}/{args.runs} {side:6}: decode {r['decode_tps']:.1f} tok/s, TTFT {r['ttft_ms_short']:.0f} / "
                f"{r['ttft_ms_512']:.0f} / {r['ttft_ms_2000']:.0f} ms, peak {r['peak_bytes_2000'] / 2**30:.2f} GB",
                file=sys.stderr,
                flush=True,
            )

    print(
        f"\nFoundry Local (foundry-local-sdk, ChatSession, streaming), {model.name}, {args.runs} alternating runs, "
        "fresh process per run; medians [min-max]"
    )
    rows = (
        ("decode tok/s (short prompt)", "decode_tps", 1, 1),
        ("TTFT short prompt, ms", "ttft_ms_short", 1, 0),
        ("TTFT 512 tokens, ms", "ttft_ms_512", 1, 0),
        ("TTFT 2,000 tokens, ms", "ttft_ms_2000", 1, 0),
        ("peak memory at 2,000 tokens, GB", "peak_bytes_2000", 2**30, 2),
    )
    print(f"{'':34} {'guide':>24} {'slmops':>24}   slmops / guide per run")
    for label, key, scale, digits in rows:
        g, s = [r[key] for r in runs["guide"]], [r[key] for r in runs["slmops"]]
        ratios = [b / a for a, b in zip(g, s) if a and b]
        print(f"{label:34} {med(g, scale, digits):>24} {med(s, scale, digits):>24}   {med(ratios, digits=2)}")
    sizes = {side: folder_size(folder) for side, folder in sides.items()}
    print(
        f"{'size on disk, MB':34} {sizes['guide'] / 2**20:>24.0f} {sizes['slmops'] / 2**20:>24.0f}   "
        f"{sizes['slmops'] / sizes['guide']:.2f}"
    )
    print(
        f"tokens: short prompt {runs['guide'][0]['tokens_out']} / {runs['slmops'][0]['tokens_out']} generated, "
        f"prompts of {runs['guide'][0]['tokens_512']} / {runs['guide'][0]['tokens_2000']} tokens (guide), "
        f"{runs['slmops'][0]['tokens_512']} / {runs['slmops'][0]['tokens_2000']} (slmops)"
    )
    for side, folder in sides.items():
        context = genai_config.context_length(genai_config.read(folder))
        print(f"{side}: {folder}  (session options: {session_options(folder)}; context_length {context})")
    if model.name != QWEN:
        print("\nno target on this model (the targets are for the Qwen2.5-Coder-0.5B built-in)")
        return 0
    print("\ntargets (Qwen2.5-Coder-0.5B built-in):")
    met_all = True
    for key, (higher, target) in TARGETS.items():
        ratios = [s[key] / g[key] for g, s in zip(runs["guide"], runs["slmops"]) if g[key] and s[key]]
        ratio = statistics.median(ratios)
        met = ratio >= target if higher else ratio <= target
        met_all &= met
        print(f"  {key}: slmops / guide {ratio:.2f} (target {'>=' if higher else '<='} {target}): {'MET' if met else 'NOT MET'}")
    print(f"all targets {'MET' if met_all else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
