"""The README's performance tables, rendered from the results files of ``benchmarks/results``, and checked.

    python -m benchmarks.readme            # rewrite every figures block of README.md (and the app's citations)
    python -m benchmarks.readme --check    # exit 1 when a figure in README.md differs from its results file
    python -m benchmarks.readme --check --complete   # ... or when a block still waits for its results file

A block sits between ``<!-- figures: ID -->`` and ``<!-- /figures -->``; its first line names the script and
results file that made it, the date, the machine and how it was measured. A block whose results file is not
there yet is a placeholder naming the command that makes it. ``--check`` also fails when: a results file is
quick, incomplete or malformed, or its summary, comparisons and targets differ from a recomputation from its
runs; a number with a unit appears in the performance section outside a block; the citations texts the app
shows (``engine/profiles/citations.json``) no longer follow from their results files; once ``tune-qwen.json``
exists, the qwen profile's recipe is not the one the tuner chose in it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.lib import hf_agreement, pairs, record, targets
from engine.base.atomic import write_text_atomic
from engine.profiles import citations

ROOT = record.ROOT
README = ROOT / "README.md"
# the first line names the block and, for each of its results files, the digest it was rendered from
BLOCK = re.compile(
    r"<!-- figures: (?P<id>[\w-]+)(?P<digests>(?: [\w.-]+@[0-9a-f]{16})*) -->\n(?P<body>.*?)<!-- /figures -->", re.S
)
SECTION = re.compile(r"<!-- figures-section -->(?P<body>.*?)<!-- /figures-section -->", re.S)
# a number with a unit, a ratio, a bare decimal (a ratio or a score) or a number with thousands separators
FIGURE = re.compile(
    r"(?<![\w.\-/])(?:\d[\d,]*(?:\.\d+)?\s?(?:tok/s|tokens/s|KB|MB|GB|ms|s|%)(?![\w/])|\d+(?:\.\d+)?x(?!\w)"
    r"|\d[\d,.]*\s?(?:->|→)\s?\d|\d+\.\d+(?![\w.])|\d{1,3}(?:,\d{3})+(?![\w,]))"
)
# the README's sections whose numbers must all come from a block: converting, performance
SECTIONS = 2
PLACEHOLDER = "*Not measured yet"


class CheckError(Exception):
    pass


# ---- formatting ------------------------------------------------------------------------------------------


def mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f} MB"


def in_seconds(ms: float) -> str:
    return f"{ms / 1000:.1f}"


def in_gb(n: float) -> str:
    return f"{n / 2**30:.2f}"


def spread(figure: dict[str, Any] | None, fmt: Callable[[float], str]) -> str:
    if not figure:
        return "-"
    return f"{fmt(figure['median'])} [{fmt(figure['low'])}-{fmt(figure['high'])}]"


def ratio(comparison: dict[str, Any] | None) -> str:
    """The per-round ratio, bold only when its verdict is a verdict (better or worse over enough pairs)."""
    text = pairs.ratio_text(comparison)
    if comparison and comparison["verdict"] in ("better", "worse"):
        head, _, tail = text.partition(" ")
        return f"**{head}** {tail}"
    return text


def search_text(search: dict[str, Any]) -> str:
    """A side's generation options as its genai_config.json sets them: greedy or sampling, and the penalty."""
    how = (
        f"sampling, temperature {search.get('temperature')}, top-p {search.get('top_p')}" if search.get("do_sample") else "greedy"
    )
    return f"{how}, repetition penalty {search.get('repetition_penalty')}"


def noise(comparison: dict[str, Any] | None) -> str:
    """What a ratio without a verdict means: its rounds disagree, so it shows neither a gain nor a loss."""
    if comparison and comparison.get("n") and comparison["verdict"] not in ("better", "worse", pairs.REFUSED):
        return ": within the spread of its rounds, neither a gain nor a loss (a shared machine's noise)"
    return ""


def percent(value: float) -> str:
    return f"{value:+.1%}".replace("%", " %")


def caption(doc: dict[str, Any], how: str) -> str:
    machine = record.machine_text(doc["machine"])
    path = f"benchmarks/results/{Path(record.file_name(doc['script'], doc['model']['key'], doc['quick'])).name}"
    versions = ", ".join(
        f"{k} {v}" for k, v in doc["toolchain"].items() if k in ("onnxruntime-genai", "foundry-local-sdk", "olive-ai") and v
    )
    code = doc.get("code") or {}
    dirty = f" · measured on commit {str(code.get('slmops_commit'))[:10]} with uncommitted changes" if code.get("dirty") else ""
    return (
        f"<sub>`benchmarks/{doc['script']}.py` → `{path}` · {doc['date']['started'][:10]} · {machine} · {how} · "
        f"{versions}{dirty}</sub>"
    )


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def run_values(doc: dict[str, Any], side: str, key: str) -> list[Any]:
    return [r.get(key) for r in doc["runs"] if r["side"] == side and not r.get("error")]


# ---- renderers: each takes the results documents of its block ----------------------------------------------


def render_foundry(docs: list[dict[str, Any]]) -> list[str]:
    (doc,) = docs
    s, sides, comps = doc["summary"], doc["sides"], doc["comparisons"]
    rounds = doc["settings"]["rounds"]
    how = (
        f"Foundry Local in process (SDK chat session, streaming), {rounds} rounds, sides in turn, a fresh worker per run; "
        "medians [min-max]; the last column is the median [min-max] of per-round ratios"
    )
    tokens = {side: run_values(doc, side, "tokens_out") for side in ("guide", "slmops")}
    prompts = {n: "/".join(map(str, sorted(set(run_values(doc, "slmops", f"prompt_{n}"))))) for n in ("mid", "long")}
    rows = [
        [
            "size on disk",
            mb(sides["guide"]["size_bytes"]),
            mb(sides["slmops"]["size_bytes"]),
            f"{sides['slmops']['size_bytes'] / sides['guide']['size_bytes']:.2f}",
        ],
        [
            f"decode tok/s, a story of {doc['settings']['tokens']} tokens asked (tokens per run: guide "
            f"{tokens['guide']}, slmops {tokens['slmops']})",
            spread(s["guide"].get("decode_tps"), lambda v: f"{v:.1f}"),
            spread(s["slmops"].get("decode_tps"), lambda v: f"{v:.1f}"),
            ratio(pairs.find(comps, "slmops", "guide", "decode_tps")),
        ],
        [
            f"time to first token, {prompts['mid']}-token prompt",
            spread(s["guide"].get("ttft_ms_mid"), in_seconds) + " s",
            spread(s["slmops"].get("ttft_ms_mid"), in_seconds) + " s",
            ratio(pairs.find(comps, "slmops", "guide", "ttft_ms_mid")),
        ],
        [
            f"time to first token, {prompts['long']}-token prompt",
            spread(s["guide"].get("ttft_ms_long"), in_seconds) + " s",
            spread(s["slmops"].get("ttft_ms_long"), in_seconds) + " s",
            ratio(pairs.find(comps, "slmops", "guide", "ttft_ms_long")),
        ],
        [
            f"peak memory (VmHWM) of the {prompts['long']}-token run, each with the context it deploys "
            f"(guide {sides['guide']['context_length']:,} tokens, slmops {sides['slmops']['context_length']:,})",
            spread(s["guide"].get("peak_bytes"), in_gb) + " GB",
            spread(s["slmops"].get("peak_bytes"), in_gb) + " GB",
            ratio(pairs.find(comps, "slmops", "guide", "peak_bytes")),
        ],
    ]
    equal = pairs.find(comps, "slmops-native-context", "guide", "peak_bytes")
    if equal and "slmops-native-context" in s:
        context = sides["slmops-native-context"]["context_length"]
        rows.append(
            [
                f"the same, at equal context: slmops' recipe with the guide's {context:,}-token window",
                spread(s["guide"].get("peak_bytes"), in_gb) + " GB",
                spread(s["slmops-native-context"].get("peak_bytes"), in_gb) + " GB",
                ratio(equal),
            ]
        )
    if all("search" in sides[k] for k in ("guide", "slmops")):
        rows.append(
            [
                "generation options (genai_config.json's search)",
                *(search_text(sides[k]["search"]) for k in ("guide", "slmops")),
                "",
            ]
        )
    lines = [caption(doc, how), "", *table(["", "guide", "slmops", "slmops / guide per round"], rows)]
    judged = [t for t in doc["targets"] if t["judged"]]
    if judged:
        lines += [
            "",
            "Targets: "
            + "; ".join(f"{t['name']} {t['value']:.2f} ({t['target']}): {targets.verdict_text(t)}" for t in judged)
            + ".",
        ]
    return lines


def render_gains(docs: list[dict[str, Any]]) -> list[str]:
    foundry, choices = docs
    fc, cc = foundry["comparisons"], choices["comparisons"]
    native, bounded = foundry["sides"]["slmops-native-context"], foundry["sides"]["slmops"]
    ppl = {name: side["perplexity"]["token by token"]["perplexity"] for name, side in choices["sides"].items()}
    fp32 = ppl["fp32"]
    pruned, head8, embed8 = "rtn-int4-b128-prune", "rtn-int4-b128-head8-prune", "rtn-int4-b128-prune:embedding_bits=8"
    rows = [
        [
            "threads: the session options deploy writes, alone",
            "`guide-threads` / `guide` (Foundry Local)",
            f"decode {ratio(pairs.find(fc, 'guide-threads', 'guide', 'decode_tps'))}"
            + noise(pairs.find(fc, "guide-threads", "guide", "decode_tps")),
        ],
        [
            "last-token logits (`prune_lm_head`)",
            f"`{pruned}` / `rtn-int4-b128`",
            f"first token at {choices['settings']['long']} tokens {ratio(pairs.find(cc, pruned, 'rtn-int4-b128', 'ttft_ms_long'))}; peak memory "
            f"{ratio(pairs.find(cc, pruned, 'rtn-int4-b128', 'peak_bytes_long'))}",
        ],
        [
            "a bounded context window",
            "`slmops` / `slmops-native-context` (Foundry Local)",
            f"peak memory {ratio(pairs.find(fc, 'slmops', 'slmops-native-context', 'peak_bytes'))}; key/value cache reserved "
            f"for {bounded['context_length']:,} tokens {mb(bounded['kv_cache_bytes'])}, for {native['context_length']:,} "
            f"{mb(native['kv_cache_bytes'])} (computed from genai_config.json)",
        ],
    ]
    if embed8 in choices["sides"]:
        rows.append(
            [
                "the embedding table in 4 bits, not 8",
                f"`{pruned}` / `{embed8}`",
                f"size {mb(choices['sides'][pruned]['size_bytes'])} / {mb(choices['sides'][embed8]['size_bytes'])}; perplexity "
                f"{percent(ppl[pruned] / fp32 - 1)} / {percent(ppl[embed8] / fp32 - 1)} over fp32",
            ]
        )
    if head8 in choices["sides"]:
        rows.append(
            [
                "lm_head in 4 bits, not 8",
                f"`{pruned}` / `{head8}`",
                f"decode {ratio(pairs.find(cc, pruned, head8, 'decode_tps'))}; size {mb(choices['sides'][pruned]['size_bytes'])} / "
                f"{mb(choices['sides'][head8]['size_bytes'])}; perplexity {percent(ppl[pruned] / fp32 - 1)} / "
                f"{percent(ppl[head8] / fp32 - 1)} over fp32",
            ]
        )
    how = "one knob per pair, sides in turn, per-round ratios median [min-max]; perplexity token by token"
    return [caption(foundry, "Foundry Local rows"), caption(choices, how), "", *table(["gain", "sides compared", "figure"], rows)]


def render_quality(docs: list[dict[str, Any]]) -> list[str]:
    (doc,) = docs
    method = doc["settings"]["perplexity_method"]
    fp32 = doc["sides"]["fp32"]["perplexity"][method]
    how = f"ONNX Runtime GenAI through slmops' worker; perplexity of the profile's text ({fp32['tokens']} tokens), every row scored {method}"
    rows = []
    for name, side in doc["sides"].items():
        value = side["perplexity"][method]["perplexity"]
        rows.append(
            [
                f"`{name}`",
                mb(side["size_bytes"]),
                f"{value:.3f}",
                "" if name == "fp32" else percent(value / fp32["perplexity"] - 1),
            ]
        )
    lines = [caption(doc, how), "", *table(["recipe", "size on disk", f"perplexity ({method})", "over fp32"], rows)]
    gaps = [
        f"`{name}` {side['perplexity']['one pass']['perplexity']:.3f} in one pass, {side['perplexity'][method]['perplexity']:.3f} {method}"
        for name, side in doc["sides"].items()
        if "one pass" in side["perplexity"]
    ]
    if gaps:
        lines += ["", "The same models scored both ways (why every row uses one method): " + "; ".join(gaps) + "."]
    return lines


def render_tune(docs: list[dict[str, Any]]) -> list[str]:
    (doc,) = docs
    report = doc["payload"]["report"]
    how = (
        f"slmops' tuner: ONNX Runtime GenAI through slmops' worker, the guide's recipe converted by `slmops convert` with the "
        f"guide's command, {report['runs']} alternating pairs per candidate, decode over equal answers, fp32 timed once "
        "(the quality reference, not paired), perplexity token by token"
    )
    chosen = report.get("chosen")
    settings = " ".join(f"{k}={v}" for k, v in (report.get("chosen_settings") or {}).items()) or "default settings"
    rows = []
    for t in doc["targets"]:
        share = "perplexity" in t["name"]  # a share over fp32; the others are ratios
        op, limit = t["target"].split()
        value = "-" if t["value"] is None else (percent(t["value"]) if share else f"{t['value']:.2f}x")
        verdict = targets.verdict_text(t)
        rows.append([t["name"], value, f"{op} {percent(float(limit)) if share else limit + 'x'}", verdict])
    lines = [
        caption(doc, how),
        "",
        f"Chosen: `{chosen}` with {settings}.",
        "",
        *table(["chosen recipe and settings", "measured", "target", ""], rows),
    ]
    candidates = []
    for c in report["candidates"]:
        if c.get("error"):
            continue
        decode = pairs.find(doc["comparisons"], c["name"], "guide-int4", "decode_tps", c["name"])
        fp32 = next(r for r in report["candidates"] if r["name"] == "fp32")
        candidates.append(
            [
                f"`{c['name']}`",
                mb(c.get("size_bytes")),
                ratio(decode) if decode else "-",
                percent(c["perplexity"] / fp32["perplexity"] - 1) if c["name"] != "fp32" else "",
                {True: "keeps", False: "loses", None: "-"}[c.get("keeps_quality")],
            ]
        )
    return lines + [
        "",
        *table(["candidate", "size", "decode / the guide's per pair", "perplexity over fp32", "quality"], candidates),
    ]


def render_runtime_settings(docs: list[dict[str, Any]]) -> list[str]:
    (doc,) = docs
    names = doc["settings"]["variants"]
    how = f"bare ONNX Runtime GenAI, a fresh process per run, {doc['settings']['rounds']} rounds, variants in turn; ratios against `{names[0]}` per round"
    rows = []
    for name in names:
        side = doc["sides"][name]
        options = " ".join(f"{k}={v}" for k, v in side["session_options"].items()) or "none"
        if side.get("refused"):
            rows.append([f"`{name}`", options, "refused by the runtime", "", ""])
            continue
        cells = [f"`{name}`", options]
        units = {"decode_tps": lambda v: f"{v:.1f} tok/s", "ttft_ms_long": lambda v: f"{in_seconds(v)} s", "peak_bytes_long": mb}
        for metric, unit in units.items():
            figure = doc["summary"].get(name, {}).get(metric)
            c = pairs.find(doc["comparisons"], name, names[0], metric)
            cells.append((unit(figure["median"]) if figure else "-") + (f"; {ratio(c)}" if c else ""))
        rows.append(cells)
    return [
        caption(doc, how),
        "",
        *table(
            [
                "variant",
                "session options",
                "decode",
                f"first token, {doc['settings']['long']} tokens",
                f"peak memory, {doc['settings']['peak_at']} tokens",
            ],
            rows,
        ),
    ]


def render_small_model(docs: list[dict[str, Any]]) -> list[str]:
    (doc,) = docs
    report = doc["payload"]["report"]
    fp32 = next(r for r in report["candidates"] if r["name"] == "fp32")
    bound = report["bound"]["max_ppl_increase"]
    rows = [
        [
            f"`{c['name']}`",
            percent(c["perplexity"] / fp32["perplexity"] - 1),
            {True: "keeps", False: "loses", None: "-"}[c.get("keeps_quality")],
        ]
        for c in report["candidates"]
        if c.get("precision") == "int4" and not c.get("error") and c.get("perplexity")
    ]
    how = f"slmops' tuner, every int4 candidate, perplexity token by token; the quality bound is {percent(bound)} over fp32"
    return [caption(doc, how), "", *table(["int4 recipe", "perplexity over fp32", "quality"], rows)]


CONVERT_SIDES = {
    "stream": "slmops, streaming converter: `rtn-int4-b128-head8-prune`",
    "stream-int8": "slmops, streaming converter: `rtn-int8`",
    "stream-fp32": "slmops, streaming converter: `mb-fp32`",
    "olive": "slmops before: `rtn-int4-b128-head8-prune` in Olive",
    "guide": "the guide's `olive auto-opt --precision int4`",
}


def not_run_text(side: str, about: dict[str, Any], parameters: int) -> str:
    """A side the script did not run because it would not fit: the memory then available, from the results file, and
    today's estimate, from today's factors (the estimate recorded then came from factors since refitted)."""
    from benchmarks.convert_memory import side_estimate

    available = about["not_run"].rpartition(", ")[2]
    now = side_estimate(side, parameters)
    if now is None:
        return f"not run: the estimate of the day did not fit ({available})"
    how = "extrapolated" if now.extrapolated else "estimated"
    return f"not run: the estimate of the day did not fit ({available}); {how} today at {in_gb(now.ram_bytes)} GB"


def render_convert_memory(docs: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for doc in docs:
        s, settings = doc["summary"], doc["settings"]
        how = (
            f"{settings['parameters'] / 1e9:.2f}B parameters; resident memory of the whole process tree sampled at "
            f"10 Hz, verification included, the highest of {settings['rounds']} rounds taken in turn; time median [min-max]"
        )
        rows = []
        for side, about in doc["sides"].items():
            if about.get("not_run"):
                rows.append([CONVERT_SIDES[side], not_run_text(side, about, settings["parameters"]), "-", "-", "-"])
                continue
            found = s[side]
            rows.append(
                [
                    CONVERT_SIDES[side],
                    in_gb(found["peak_rss_bytes"]["high"]) + " GB",
                    f"{found['bytes_per_param']['high']:.2f}",
                    spread(found["wall_s"], lambda v: f"{v:.0f}") + " s",
                    in_gb(found["peak_disk_bytes"]["high"]) + " GB",
                ]
            )
        header = [f"{doc['model']['name']}", "peak memory", "bytes per parameter", "time", "disk at its peak"]
        lines += [caption(doc, how), "", *table(header, rows), ""]
        cosines = [
            f"{CONVERT_SIDES[side].split(': ')[-1]} " + ", ".join(f"{row['logits_cosine']:.4f}" for row in found["rows"])
            for side, found in (doc.get("agreement") or {}).items()
            if found.get("rows")
        ]
        if cosines:
            lines += [
                "Each streamed model against transformers in fp32 on the source, cosine of the next-token logits over "
                f"{len(hf_agreement.PROMPTS)} prompts: " + "; ".join(cosines) + ".",
                "",
            ]
        judged = [t for t in doc["targets"] if t["judged"]]
        if judged:
            lines += [
                "Targets: "
                + "; ".join(f"{t['name']} {t['value']:.2f} ({t['target']}): {targets.verdict_text(t)}" for t in judged)
                + ".",
                "",
            ]
    return lines[:-1]


def render_gguf(docs: list[dict[str, Any]]) -> list[str]:
    (doc,) = docs
    s = doc["summary"]
    folder = s["folder"]
    how = (
        "slmops' own jobs in a fresh home, one run each; perplexity of one text, <bos> first, against the fp32 "
        f"conversion; the dequantized folder scores {s['perplexity_transformers']} in transformers"
    )
    rows = [
        [
            "the GGUF's verdict, from its header",
            f"{s['header_seconds_max']:.2f} s at most",
            mb(folder["gguf_bytes"]) + " GGUF",
            "-",
            "-",
        ],
        [
            f"into a {folder['dtype']} Hugging Face folder, once",
            f"{folder['seconds']:.0f} s",
            mb(folder["folder_bytes"]),
            f"{in_gb(folder['peak_tree_bytes'])} GB",
            "-",
        ],
    ]
    for name, row in s["conversions"].items():
        if "refused" in row:
            rows.append(
                [f"`{name}`", f"{row['seconds']:.0f} s", "-", "-", "refused: no unquantized graph to check the repair on"]
            )
            continue
        check = row["repair_check"] or {}
        rows.append(
            [
                f"`{name}`",
                f"{row['seconds']:.0f} s",
                mb(row["output_bytes"]),
                f"{in_gb(row['peak_tree_bytes'])} GB",
                f"{row['perplexity']} ({percent(row['perplexity_vs_fp32'])})"
                + (f"; repair held on {check['checked']}" if check.get("agree") else ""),
            ]
        )
    return [caption(doc, how), "", *table(["step", "time", "disk", "peak memory", "perplexity (over fp32)"], rows)]


def render_fuzz(docs: list[dict[str, Any]]) -> list[str]:
    (doc,) = docs
    s, settings = doc["summary"], doc["settings"]
    how = (
        f"Hypothesis, fixed seeds, {settings['max_examples']:,} inputs per parser and {settings['max_examples_io']:,} "
        f"per target that lays out folders or opens sockets, {settings['deadline_s']:.0f} s at most per input"
    )
    rows = [[t["side"], t["description"], f"{t['inputs']:,}", f"{t['results']:,}", f"{t['errors']:,}"] for t in s["targets"]]
    faults = [[f["what"], "held" if f["held"] else "**not held**"] for f in s["faults"]]
    return [
        caption(doc, how),
        "",
        *table(["target", "what is generated", "inputs", "a result", "an error with a hint"], rows),
        "",
        f"{s['inputs_total']:,} generated inputs in all, none ended otherwise. Crafted faults, one test each "
        f"({s['faults_held']} of {len(s['faults'])} held):",
        "",
        *table(["fault", "outcome"], faults),
    ]


def render_gguf_direct(docs: list[dict[str, Any]]) -> list[str]:
    """A GGUF straight into the streaming converter beside today's folder-then-RTN path, scored against the GGUF."""
    (doc,) = docs
    s = doc["summary"]
    folder = s["folder"]
    how = (
        "slmops' own jobs in a fresh home, one run each; perplexity of one text in ONNX Runtime GenAI, against the "
        f"GGUF itself dequantized in transformers (fp32: {s['perplexity_gguf']})"
    )
    rows = []
    for name, row in s["direct"].items():
        if "refused" in row:
            rows.append([f"`{name}`, straight from the GGUF", f"{row['seconds']:.0f} s", "-", "-", "refused"])
            continue
        rows.append(
            [
                f"`{name}`, straight from the GGUF",
                f"{row['seconds']:.0f} s",
                mb(row["output_bytes"]),
                f"{in_gb(row['peak_tree_bytes'])} GB",
                f"{row['perplexity']} ({percent(row['perplexity_vs_gguf'])})",
            ]
        )
    rows.append(
        [
            f"today: into a {folder['dtype']} folder first",
            f"{folder['seconds']:.0f} s",
            mb(folder["folder_bytes"]),
            f"{in_gb(folder['peak_tree_bytes'])} GB",
            "-",
        ]
    )
    for name, row in s["conversions"].items():
        if "refused" in row or name == "guide-int4":
            continue
        rows.append(
            [
                f"then `{name}` from the folder",
                f"{row['seconds']:.0f} s",
                mb(row["output_bytes"]),
                f"{in_gb(row['peak_tree_bytes'])} GB",
                f"{row['perplexity']} ({percent(row['perplexity_vs_gguf'])})",
            ]
        )
    return [caption(doc, how), "", *table(["step", "time", "disk", "peak memory", "perplexity (over the GGUF)"], rows)]


@dataclass(frozen=True)
class Block:
    id: str
    files: tuple[str, ...]
    render: Callable[[list[dict[str, Any]]], list[str]]
    commands: tuple[str, ...]


BLOCKS = {
    b.id: b
    for b in (
        Block("foundry-qwen", ("foundry-qwen.json",), render_foundry, ("python -m benchmarks.foundry --model qwen",)),
        Block(
            "gains-qwen",
            ("foundry-qwen.json", "deploy_choices-qwen.json"),
            render_gains,
            ("python -m benchmarks.foundry --model qwen", "python -m benchmarks.deploy_choices --model qwen"),
        ),
        Block(
            "quality-qwen", ("deploy_choices-qwen.json",), render_quality, ("python -m benchmarks.deploy_choices --model qwen",)
        ),
        Block("tune-qwen", ("tune-qwen.json",), render_tune, ("python -m benchmarks.tune --model qwen",)),
        Block(
            "runtime_settings-qwen",
            ("runtime_settings-qwen.json",),
            render_runtime_settings,
            ("python -m benchmarks.runtime_settings --model qwen",),
        ),
        Block("foundry-demo", ("foundry-demo.json",), render_foundry, ("python -m benchmarks.foundry --model demo",)),
        Block("quality-demo", ("tune-demo.json",), render_small_model, ("python -m benchmarks.tune --model demo",)),
        Block(
            "convert_memory",
            ("convert_memory-qwen.json", "convert_memory-qwen3b.json"),
            render_convert_memory,
            ("python -m benchmarks.convert_memory",),
        ),
        Block("gguf-gemma3", ("gguf-gemma3.json",), render_gguf, ("python -m benchmarks.gguf",)),
        Block("fuzz", ("fuzz-engine.json",), render_fuzz, ("python -m benchmarks.fuzz",)),
        Block("gguf-qwen", ("gguf-qwen.json",), render_gguf_direct, ("python -m benchmarks.gguf --gguf qwen",)),
    )
}


# ---- results files ------------------------------------------------------------------------------------------


def load_result(path: Path) -> dict[str, Any]:
    """A results file fit to be cited: valid, full, complete, and its derived figures those of its runs."""
    doc = record.load(path)
    problems = record.validate(doc)
    if problems:
        raise CheckError(f"{path.name}: {'; '.join(problems)}")
    if doc["quick"]:
        raise CheckError(f"{path.name}: a --quick run is never cited")
    if not doc["complete"]:
        raise CheckError(f"{path.name}: the run did not complete ({'; '.join(doc['errors'])})")
    derived = importlib.import_module(f"benchmarks.{doc['script']}").derive(json.loads(json.dumps(doc)))
    for key, value in derived.items():
        if json.loads(json.dumps(value)) != doc[key]:
            raise CheckError(f"{path.name}: its {key} is not what its runs give (edited by hand, or an older script)")
    return doc


def render(block: Block, results: Path) -> list[str]:
    missing = [f for f in block.files if not (results / f).is_file()]
    if missing:
        files = ", ".join(f"`benchmarks/results/{f}`" for f in missing)
        commands = "; ".join(f"`{c}`" for c in block.commands)
        return [f"{PLACEHOLDER}: {commands} writes {files}, then `python -m benchmarks.readme` renders this table.*"]
    return block.render([load_result(results / f) for f in block.files])


def digests(block: Block, results: Path) -> str:
    """ " NAME@DIGEST" for each results file of ``block`` that exists: its table says what it was rendered from."""
    import hashlib

    found = [results / f for f in block.files if (results / f).is_file()]
    return "".join(f" {p.name}@{hashlib.sha256(p.read_bytes()).hexdigest()[:16]}" for p in found)


def rendered_readme(text: str, results: Path) -> tuple[str, list[str]]:
    """The README with every block rendered, and the problems found on the way."""
    problems, seen = [], []

    def replace(match: re.Match) -> str:
        block_id = match["id"]
        seen.append(block_id)
        if block_id not in BLOCKS:
            problems.append(f"unknown figures block {block_id!r}")
            return match.group(0)
        try:
            body = "\n".join(render(BLOCKS[block_id], results)) + "\n"
        except (CheckError, KeyError, StopIteration) as exc:
            problems.append(f"{block_id}: {exc}")
            return match.group(0)
        return f"<!-- figures: {block_id}{digests(BLOCKS[block_id], results)} -->\n{body}<!-- /figures -->"

    out = BLOCK.sub(replace, text)
    problems += [f"figures block {b!r} appears more than once" for b in sorted({b for b in seen if seen.count(b) > 1})]
    problems += [f"figures block {b!r} is missing from the README" for b in BLOCKS if b not in seen]
    return out, problems


def unrecorded_figures(text: str) -> list[str]:
    """Figures in the converting and performance sections that sit outside every figures block."""
    sections = list(SECTION.finditer(text))
    if len(sections) < SECTIONS:
        return [
            f"the README has {len(sections)} <!-- figures-section --> ... <!-- /figures-section --> of {SECTIONS}: "
            "one around its converting section, one around its performance section"
        ]
    found = []
    for section in sections:
        start = text[: section.start("body")].count("\n")
        blanked = BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), section["body"])
        for offset, line in enumerate(blanked.splitlines()):
            found += [f"README.md:{start + offset + 1}: unrecorded figure {f!r}" for f in FIGURE.findall(line)]
    return found


# ---- citations in the app's texts ---------------------------------------------------------------------------


def cited(doc: dict[str, Any], path: Path, text: str, model_type: str = "") -> dict[str, Any]:
    """A claim ``text`` drawn from the results file ``path``, with its date and machine (and the measured model's
    architecture, when the claim holds for that model only)."""
    where = f"benchmarks/results/{path.name}"
    machine = record.machine_text(doc["machine"])
    return citations.Citation(text, where, doc["date"]["started"][:10], machine, model_type).to_dict()


def expected_citations(results: Path) -> tuple[dict[str, Any], list[str]]:
    """``citations.json``'s claims as they follow from the results files, and why a claim cannot be made."""
    from engine.profiles.recommended import UNTUNED_DEFAULT

    problems: list[str] = []
    found: dict[str, Any] = {}
    path = results / "tune-demo.json"
    if path.is_file():
        doc = load_result(path)
        rows = doc["payload"]["report"]["candidates"]
        fp32 = next(r for r in rows if r["name"] == "fp32")
        int4 = [r for r in rows if r.get("precision") == "int4" and not r.get("error") and r.get("perplexity") is not None]
        int4 = [r for r in int4 if r.get("perplexity_method") == fp32.get("perplexity_method")]
        best = min(int4, key=lambda r: r["perplexity"], default=None)
        if best is None or best["name"] != UNTUNED_DEFAULT:
            problems.append(
                f"tune-demo.json does not support the untuned default {UNTUNED_DEFAULT}: "
                f"{best['name'] if best else 'no int4 recipe'} lost the least perplexity"
            )
        else:
            text = (
                f"lost the least perplexity of the int4 recipes in a full tuning "
                f"({percent(best['perplexity'] / fp32['perplexity'] - 1)} over fp32, scored {best['perplexity_method']})"
            )
            found[citations.UNTUNED_DEFAULT] = cited(doc, path, text)
    path = results / "gguf-gemma3.json"
    if path.is_file():
        doc = load_result(path)
        rows = doc["summary"]["conversions"]
        int4, int8 = rows.get("rtn-int4-b128-head8", {}), rows.get("rtn-int8", {})
        if int4.get("perplexity_vs_fp32") is None or int8.get("perplexity_vs_fp32") is None:
            problems.append("gguf-gemma3.json has no int4 (rtn-int4-b128-head8) or int8 (rtn-int8) perplexity")
        else:
            text = (
                f"on Gemma 3 270M from its Q4_K_M GGUF, perplexity {percent(int4['perplexity_vs_fp32'])} in int4, "
                f"{percent(int8['perplexity_vs_fp32'])} in int8, over fp32"
            )
            found[citations.INT4_SMALL_MODEL] = cited(doc, path, text, citations.INT4_SMALL_MODEL_TYPE)
    return found, problems


def qwen_profile_problems(results: Path) -> list[str]:
    """The qwen profile must convert with the recipe the tuner chose on Qwen in the committed record."""
    path = results / "tune-qwen.json"
    if not path.is_file():
        return []
    from engine.profiles.profile import load_profile
    from engine.profiles.recommended import convert_section
    from engine.tune.apply import candidate_of

    report = load_result(path)["payload"]["report"]
    chosen = convert_section(candidate_of(report))
    shipped = load_profile(ROOT / "profiles" / "qwen.toml").convert
    keys = (
        "method",
        "precision",
        "recipe",
        "block_size",
        "symmetric",
        "accuracy_level",
        "quantize_lm_head",
        "prune_lm_head",
        "embedding_bits",
    )
    differ = [k for k in keys if getattr(chosen, k) != getattr(shipped, k)]
    return (
        [f"profiles/qwen.toml converts otherwise than tune-qwen.json's choice {report['chosen']}: {', '.join(differ)}"]
        if differ
        else []
    )


def citations_text(found: dict[str, Any]) -> str:
    note = "written by python -m benchmarks.readme from benchmarks/results; python -m benchmarks.readme --check checks it"
    return json.dumps({"note": note, "citations": found}, indent=2) + "\n"


# ---- the command ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when anything differs")
    parser.add_argument("--complete", action="store_true", help="also fail on blocks still waiting for their results file")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--results", type=Path, default=record.RESULTS)
    parser.add_argument("--citations", type=Path, default=citations.FILE)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    rendered, problems = rendered_readme(text, args.results)
    found: dict[str, Any] = {}
    if not problems:  # the results files load: the claims drawn from them can be checked
        found, claim_problems = expected_citations(args.results)
        problems += claim_problems + qwen_profile_problems(args.results)
    expected_citations_text = citations_text(found)
    if args.check and not problems:
        if rendered != text:
            for old, new in zip(BLOCK.finditer(text), BLOCK.finditer(rendered)):
                if old["digests"] != new["digests"]:
                    problems.append(
                        f"{old['id']}: a results file changed after its table was rendered "
                        f"(rendered from{old['digests'] or ' nothing recorded'}, now{new['digests']}): "
                        "run python -m benchmarks.readme"
                    )
                elif old.group(0) != new.group(0):
                    problems.append(
                        f"{old['id']}: the README's figures differ from its results file:\n--- README\n{old['body']}+++ results\n{new['body']}"
                    )
        if args.citations.read_text(encoding="utf-8") != expected_citations_text:
            problems.append(f"{args.citations} does not follow from the results files: run python -m benchmarks.readme")
    elif not problems:  # a results file that cannot be cited changes nothing
        if rendered != text:
            write_text_atomic(args.readme, rendered)
        if args.citations.read_text(encoding="utf-8") != expected_citations_text:
            write_text_atomic(args.citations, expected_citations_text)
    problems += unrecorded_figures(rendered)
    if args.complete:
        problems += [f"{m['id']}: not measured yet" for m in BLOCK.finditer(rendered) if m["body"].startswith(PLACEHOLDER)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
