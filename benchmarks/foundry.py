"""The guide's deployment against slmops' in Foundry Local, through the SDK's own chat session.

    python -m benchmarks.foundry [--model qwen|demo|DIR] [--runs 5] [--tokens 128] [--quick] [--json]

Every side starts from the same Hugging Face folder and is deployed into one private Foundry Local cache:

- ``guide``: ``olive auto-opt ... --precision int4`` exactly as the guide runs it, copied into
  ``<cache>/custom/<name>/`` with the guide's ``inference_model.json``; genai_config.json as Olive wrote it;
- ``guide-threads``: the same files with the session options ``slmops deploy`` writes (this machine's
  physical cores as intra-op threads), nothing else changed: what the thread count alone does;
- ``slmops``: the profile's recipe (the qwen profile's on the Qwen built-in, else the recipe an untuned
  model starts from) converted by slmops' convert and deployed by slmops' deploy (its runtime settings and
  the context window bounded by the profile's max_length): what a user of slmops gets;
- ``slmops-native-context``: slmops' deployment with the model's own context window, nothing else changed:
  what the bounded window alone does.

Each run loads a side in a fresh worker (the Foundry Local runtime in process, a chat session per request,
streaming, as an application does), makes one warm-up request, then: a long-answer prompt (decode tokens/s
and first token; Foundry Local cannot be made to generate a given number of tokens, so the answer is asked
for ``--tokens`` tokens of a story, and every run's count, the runtime's own, is recorded: a decode
comparison whose counts differ beyond ``engine.bench.stats.EQUAL_WORK_TOLERANCE`` in a round is refused), a 512-token prompt and a 2,000-token
prompt (first token; 256 and 1,000 with ``--quick``), and the worker's peak memory (VmHWM). Sides are taken in turn, the order rotating each
round. On the Qwen built-in, full runs judge the targets of ``benchmarks/lib/targets.py``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, models, pairs, record, targets
from benchmarks.lib.turns import take_turns
from engine.backends import make_backend
from engine.backends.base import BackendError, GenerationRequest
from engine.bench.latency import generate_once
from engine.bench.prompts import LONG_ANSWER, prompt_of_length
from engine.bench.runner import folder_size
from engine.onnx import genai_config, runtime_settings
from engine.process.jobs import high_water_mark

SCRIPT = "foundry"
SIDES = ("guide", "guide-threads", "slmops-native-context", "slmops")
LENGTHS = {"mid": 512, "long": 2000}  # prompt tokens of the first-token runs (peak memory: the long one)
QUICK_LENGTHS = {"mid": 256, "long": 1000}
METRICS = ["load_s", "decode_tps", "ttft_ms_short", "ttft_ms_mid", "ttft_ms_long", "peak_bytes", "tokens_out"]
# (a, b, metric, higher is better, equal work): the comparisons the README's tables show
COMPARISONS = (
    ("slmops", "guide", "decode_tps", True, True),
    ("slmops", "guide", "ttft_ms_mid", False, False),
    ("slmops", "guide", "ttft_ms_long", False, False),
    ("slmops", "guide", "peak_bytes", False, False),
    ("guide-threads", "guide", "decode_tps", True, True),
    ("slmops", "slmops-native-context", "peak_bytes", False, False),
    ("slmops", "slmops-native-context", "ttft_ms_long", False, False),
    # the guide's deployment keeps the model's own context window; slmops' recipe at that same window
    ("slmops-native-context", "guide", "peak_bytes", False, False),
)


def slmops_profile(model: models.Model):
    """The qwen profile as shipped on the Qwen built-in; elsewhere the recipe an untuned model starts from."""
    from engine.profiles.recommended import UNTUNED_DEFAULT
    from engine.recipes.candidates import parse_candidate
    from engine.tune.runner import candidate_profile

    profile = models.profile_for(model)
    if model.key == "qwen":
        return profile, "the qwen profile's [convert]"
    return candidate_profile(profile, parse_candidate(UNTUNED_DEFAULT)), UNTUNED_DEFAULT


def with_config(source: Path, target: Path, name: str, change) -> Path:
    """A hard-linked copy of a deployed folder, registered under ``name``, whose genai_config.json is changed."""
    import json

    from engine.base.atomic import write_text_atomic
    from engine.workers.prompt import read_inference_model

    folder = models.linked_copy(source, target)
    genai_config.update(folder, change)  # written beside, then renamed: the source's file is untouched
    inference = dict(read_inference_model(source), Name=name)
    write_text_atomic(folder / "inference_model.json", json.dumps(inference, indent=2))
    return folder


def prepare(model: models.Model, cache: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    """Convert and deploy every side; their folders and their descriptions for the results file."""
    import shutil

    shutil.rmtree(cache, ignore_errors=True)  # a private cache: nothing of the user's is touched
    print("converting the guide's way (olive auto-opt int4) ...", file=sys.stderr, flush=True)
    guide_out = models.guide_converted(model)
    profile, recipe = slmops_profile(model)
    print(f"converting and deploying the slmops way ({recipe}) ...", file=sys.stderr, flush=True)
    slmops_out = models.converted(profile, models.work_dir(model) / "foundry-slmops")
    base = model.key
    folders = {
        "guide": models.guide_deploy(guide_out, cache, f"guide-{base}-int4"),
        "slmops": models.slmops_deploy(profile, slmops_out, cache, f"slmops-{base}-int4"),
    }
    cores = runtime_settings.physical_cores()
    folders["guide-threads"] = with_config(
        folders["guide"],
        cache / "custom" / f"guide-{base}-int4-threads",
        f"guide-{base}-int4-threads",
        lambda data: genai_config.session_options(data).update({runtime_settings.INTRA_OP: cores}),
    )
    native = genai_config.context_length(genai_config.read(slmops_out))
    folders["slmops-native-context"] = with_config(
        folders["slmops"],
        cache / "custom" / f"slmops-{base}-int4-native-context",
        f"slmops-{base}-int4-native-context",
        lambda data: data["model"].update(context_length=native),
    )
    recipes = {
        "guide": "olive auto-opt --precision int4 (the guide's command)",
        "guide-threads": "the guide's files",
        "slmops": recipe,
        "slmops-native-context": recipe,
    }
    sides = {}
    for side, folder in folders.items():
        config = genai_config.read(folder)
        options = genai_config.session_options(config)
        sides[side] = {
            "folder": str(folder),
            "recipe": recipes[side],
            "session_options": {k: v for k, v in options.items() if k not in ("log_id", "provider_options")},
            "context_length": genai_config.context_length(config),
            "search": config.get("search", {}),
            "size_bytes": folder_size(folder),
            "onnx_bytes": models.onnx_bytes(folder),
            "kv_cache_bytes": genai_config.kv_cache_bytes(config, genai_config.context_length(config)),
        }
    return folders, sides


async def side_run(folder: Path, cache: Path, new_tokens: int, lengths: dict[str, int]) -> dict[str, Any]:
    """One run in a fresh Foundry Local worker: warm-up, the long-answer prompt, then the mid and long prompts."""
    story = [{"role": "user", "content": LONG_ANSWER}]
    async with make_backend("foundry-local", folder, cache_dir=str(cache)) as backend:
        await generate_once(backend, GenerationRequest(story, max_new_tokens=8))  # warm-up
        short = await generate_once(backend, GenerationRequest(story, max_new_tokens=new_tokens))
        run: dict[str, Any] = {
            "load_s": backend.resident.load_s,
            "decode_tps": short["decode_tps"],
            "ttft_ms_short": short["ttft_ms"],
            "tokens_out": short.get("tokens_out_runtime") or short["tokens_out"],
            "tokens_pieces": short["tokens_out"],
            "finish_reason": short.get("finish_reason"),
            "forced": bool(short.get("forced_length")),
            "prompt_short": short["tokens_in"],
        }
        for name, length in lengths.items():
            messages, real = await prompt_of_length(backend, length)
            answer = await generate_once(backend, GenerationRequest(messages, max_new_tokens=16))
            run[f"ttft_ms_{name}"], run[f"prompt_{name}"] = answer["ttft_ms"], real
        run["peak_bytes"] = high_water_mark(backend.pid)
        return run


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    """Summary, comparisons and targets: a function of the runs alone (the README check recomputes it)."""
    runs = doc["runs"]
    comparisons = [pairs.compare(runs, a, b, m, hi, equal_work=eq) for a, b, m, hi, eq in COMPARISONS]
    judged = not doc["quick"] and (doc["model"] or {}).get("key") == "qwen"
    # peak memory is judged at equal context: the guide's window against slmops' recipe at that window (slmops' own,
    # smaller window is a gain of its own, shown beside it)
    behind = [pairs.find(comparisons, "slmops", "guide", m) for m in ("decode_tps", "ttft_ms_mid")]
    behind.append(pairs.find(comparisons, "slmops-native-context", "guide", "peak_bytes"))
    values, verdicts = [c.get("median") for c in behind], [c.get("verdict") for c in behind]
    return {
        "summary": pairs.summary(runs, METRICS),
        "comparisons": comparisons,
        "targets": targets.judge_all(targets.FOUNDRY, values, judged=judged, verdicts=verdicts),
    }


def tables(doc: dict[str, Any]) -> list[str]:
    lines = [
        f"Foundry Local, {doc['model']['name']}: {doc['settings']['rounds']} rounds, sides in turn, a fresh worker per run; "
        "medians [min-max]"
    ]
    for side, figures in doc["summary"].items():
        cells = ", ".join(f"{m} {f['median']:.4g} [{f['low']:.4g}-{f['high']:.4g}]" for m, f in figures.items())
        lines.append(f"  {side}: {cells}")
    lines.append("tokens generated per run (the runtime's count), by side:")
    for side in SIDES:
        lines.append(f"  {side}: {[r.get('tokens_out') for r in doc['runs'] if r['side'] == side]}")
    lines.append("comparisons, a / b per round: median [min-max], verdict")
    for c in doc["comparisons"]:
        lines.append(f"  {c['a']} / {c['b']} {c['metric']}: {pairs.ratio_text(c)}, {c['verdict']}")
    lines.append("targets:")
    return lines + targets.lines(doc["targets"])


def main() -> int:
    parser = cli.parser(__doc__, runs=5, quick_runs=2)
    parser.add_argument("--tokens", type=int, help="tokens asked of the long-answer prompt (default 128; --quick 64)")
    args = parser.parse_args()
    model = models.resolve(args.model, args.quick)
    rounds = cli.rounds(args)
    tokens = args.tokens or (64 if args.quick else 128)
    cache = models.work_dir(model) / "foundry-cache"
    lengths = QUICK_LENGTHS if args.quick else LENGTHS
    settings = {"rounds": rounds, "tokens": tokens, "prompt": LONG_ANSWER, "lengths": lengths, "order": "rotating"}
    doc = record.start(SCRIPT, model.to_dict(), args, settings)
    folders, doc["sides"] = prepare(model, cache)
    take_turns(
        doc, list(SIDES), rounds, lambda side: asyncio.run(side_run(folders[side], cache, tokens, lengths)), (BackendError,)
    )
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
