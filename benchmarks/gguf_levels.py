"""What ONNX Runtime's accuracy level does to a GGUF's 8-bit weights: answers, perplexity and decode speed.

The streaming converter writes a GGUF's 8-bit blocks (Q8_0, Q5_0, Q6_K) as ``MatMulNBits`` bits 8 with codes
centred on the zero point 128. At accuracy level 0 the kernel dequantizes the weight on every call; at level 4 it
quantizes the activations to int8 and multiplies integers. The GGUF is converted once by recipe ``gguf-int4`` (or
``--recipe gguf-exact``, whose widened K-quant blocks are 8-bit too; block 32, as the e2e tests do); two
hard-linked copies of the result differ only in the ``accuracy_level`` of their 8-bit nodes (``level0``, ``level4``; the
4-bit nodes keep the recipe's). For each copy, in a fresh process: the greedy answer to the verify prompt (chat
template), the perplexity of one text token by token, and, over alternating rounds, the decode speed of 64 greedy
tokens after a short prompt with 2 intra-op threads (:mod:`benchmarks.lib.ort_run`). Besides the models, one 8-bit
``MatMulNBits`` node with random codes centred on 128 (within 127 and within 64 of it) at each level against numpy
in float64: the relative error.

    python -m benchmarks.gguf_levels --gguf qwen     # the Qwen built-in's Q4_K_M: results/gguf_levels-qwen.json
    python -m benchmarks.gguf_levels --gguf smollm2  # the SmolLM2 demo's Q4_1
    python -m benchmarks.gguf_levels --gguf smollm2 --recipe gguf-exact  # results/gguf_levels-smollm2-gguf-exact.json
    python -m benchmarks.gguf_levels --quick         # SmolLM2, 2 rounds: checks the script
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.gguf import ORT_PERPLEXITY, TEXT, direct_run
from benchmarks.lib import cli, fresh, ort_run, pairs, record
from benchmarks.lib.turns import take_turns
from engine.convert.plan import VERIFY_PROMPT
from engine.tune.timing import with_session_options
from tests.gguf_files import FILES, fetch

SCRIPT = "gguf_levels"
RECIPES = ("gguf-int4", "gguf-exact")  # the first: the default, and the results file's
LEVELS = {"level0": 0, "level4": 4}
THREADS = {"intra_op_num_threads": 2}
SPREADS = (127, 64)  # codes within 128 +- spread
BUILTIN_QWEN = Path.home() / ".cache" / "slmops" / "builtins" / "Qwen2.5-Coder-0.5B-Instruct.gguf"
ANSWER = r"""
import json, sys
from pathlib import Path
from engine.workers.generate_ort import OrtModel
model = OrtModel(Path(sys.argv[1]))
prepared = model.prepare({"messages": [{"role": "user", "content": sys.argv[2]}], "max_new_tokens": 32})
print(json.dumps({"answer": "".join(prepared.pieces)}))
"""


def gguf_path(key: str) -> Path:
    """The Qwen built-in's GGUF where the setup made it; the test GGUFs from PyPI otherwise."""
    return BUILTIN_QWEN if key == "qwen" and BUILTIN_QWEN.exists() else fetch(key)


def with_level(folder: Path, level: int, suffix: str) -> tuple[Path, int]:
    """A hard-linked copy of ``folder`` at 2 intra-op threads whose 8-bit MatMulNBits nodes run at ``level``
    (0: the attribute removed); its model.onnx is a new file, not written through the link. Returns the copy and
    how many nodes are 8-bit."""
    import onnx
    from onnx import helper

    target = with_session_options(folder, THREADS, suffix)
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    count = 0
    for node in model.graph.node:
        attributes = {a.name: a for a in node.attribute}
        if node.op_type != "MatMulNBits" or helper.get_attribute_value(attributes["bits"]) != 8:
            continue
        count += 1
        kept = [a for a in node.attribute if a.name != "accuracy_level"]
        del node.attribute[:]
        node.attribute.extend(kept)
        if level:
            node.attribute.append(helper.make_attribute("accuracy_level", level))
    (target / "model.onnx").unlink()
    onnx.save(model, str(target / "model.onnx"))
    return target, count


def matmul_errors(level: int, spread: int, rows: int = 4, k: int = 896, n: int = 256, block: int = 32) -> float:
    """Relative error (Frobenius) of one 8-bit MatMulNBits node at ``level`` against float64, codes within
    ``128 +- spread``."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(spread)
    codes = rng.integers(128 - spread, 128 + spread + 1, size=(n, k // block, block)).astype(np.uint8)
    scales = rng.uniform(0.001, 0.02, n * (k // block)).astype(np.float32)
    weight = ((codes.astype(np.float64) - 128) * scales.reshape(n, -1, 1)).reshape(n, k)
    x = rng.standard_normal((rows, k)).astype(np.float32)
    extra = {"accuracy_level": level} if level else {}
    node = helper.make_node(
        "MatMulNBits", ["x", "B", "scales"], ["y"], domain="com.microsoft", K=k, N=n, bits=8, block_size=block, **extra
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n])],
        [numpy_helper.from_array(codes, "B"), numpy_helper.from_array(scales, "scales")],
    )
    model = helper.make_model(
        graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    found = session.run(None, {"x": x})[0].astype(np.float64)
    expected = x.astype(np.float64) @ weight.T
    return float(np.linalg.norm(found - expected) / np.linalg.norm(expected))


def speed(folder: Path, new: int) -> dict[str, Any]:
    got = fresh.json_from(ort_run.argv(folder, new=new), "a decode run")
    short = got["short"]
    return {
        "decode_tps": short["decode_tps"],
        "ttft_ms": short["ttft_ms"],
        "tokens_out": short["tokens"]["generated"],
        "forced": short["tokens"]["forced"],
    }


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    runs = doc["runs"]
    summary = {
        "matmul_relative_error": doc["settings"]["matmul"],
        "sides": {name: {k: doc["sides"][name].get(k) for k in ("answer", "perplexity", "nodes_8bit")} for name in LEVELS},
        "speed": pairs.summary(runs, ["decode_tps", "ttft_ms"]),
    }
    comparisons = [pairs.compare(runs, "level4", "level0", "decode_tps", True, equal_work=True)]
    return {"summary": summary, "comparisons": comparisons, "targets": []}


def tables(doc: dict[str, Any]) -> list[str]:
    s = doc["summary"]
    lines = [f"{doc['model']['name']}, {doc['settings']['recipe']}: 8-bit MatMulNBits at accuracy level 0 and 4"]
    for spread, errors in s["matmul_relative_error"].items():
        lines.append(f"  one node, codes 128 +- {spread}: relative error " + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))
    for name, side in s["sides"].items():
        figures = s["speed"].get(name, {}).get("decode_tps", {})
        lines.append(
            f"  {name}: {side['nodes_8bit']} nodes, perplexity {side['perplexity']}, decode "
            f"{figures.get('median', float('nan')):.1f} tok/s [{figures.get('low', 0):.1f}-{figures.get('high', 0):.1f}], "
            f"answer {side['answer']!r}"
        )
    for c in doc["comparisons"]:
        lines.append(f"  {c['a']} over {c['b']} {c['metric']}: {pairs.ratio_text(c)}, {c['verdict']}")
    return lines


def main() -> int:
    parser = cli.parser(__doc__, runs=5, quick_runs=2, model=False)
    parser.add_argument("--gguf", choices=sorted(FILES), help="which GGUF (default qwen; --quick: smollm2)")
    parser.add_argument("--new", type=int, default=64, help="tokens decoded per speed run")
    parser.add_argument("--recipe", choices=RECIPES, default=RECIPES[0], help="the GGUF recipe (default %(default)s)")
    parser.add_argument("--onnx", type=Path, help="the GGUF's conversion by that recipe, made earlier (default: made here)")
    args = parser.parse_args()
    key = args.gguf or ("smollm2" if args.quick else "qwen")
    gguf = gguf_path(key)
    home = Path(tempfile.mkdtemp(prefix="slmops-gguf-levels-"))
    os.environ["SLMOPS_HOME"] = str(home)  # nothing made earlier is reused
    from benchmarks.gguf import GGUF_NAMES

    matmul = {str(spread): {name: matmul_errors(level, spread) for name, level in LEVELS.items()} for spread in SPREADS}
    settings = {"recipe": args.recipe, "rounds": cli.rounds(args), "new": args.new, "session_options": THREADS}
    settings.update(perplexity_text=TEXT, prompt=VERIFY_PROMPT, matmul=matmul)
    suffix = "" if args.recipe == RECIPES[0] else f"-{args.recipe}"
    model = {"key": key + suffix, "name": GGUF_NAMES[key], "path": str(gguf)}
    doc = record.start(SCRIPT, model, args, settings)
    folders: dict[str, Path] = {}
    try:
        source = args.onnx or home / "converted"
        if args.onnx is None:
            converted = asyncio.run(direct_run(gguf, args.recipe, source))
            if "refused" in converted:
                doc["errors"].append(f"conversion refused: {converted['refused']}")
                return record.emit(record.finish(doc, {"summary": {}, "comparisons": [], "targets": []}), args, [])
            doc["conversion"] = converted
        for name, level in LEVELS.items():
            folders[name], nodes = with_level(source, level, name)
            side: dict[str, Any] = {"accuracy_level_8bit": level, "nodes_8bit": nodes}
            side.update(fresh.json_from(["-c", ANSWER, str(folders[name]), VERIFY_PROMPT], f"{name} answer"))
            side["perplexity"] = fresh.json_from(["-c", ORT_PERPLEXITY, str(folders[name]), TEXT], name)["perplexity"]
            doc["sides"][name] = side
            print(f"{name}: {json.dumps(side)}", file=sys.stderr, flush=True)
        take_turns(doc, list(LEVELS), settings["rounds"], lambda name: speed(folders[name], args.new), (fresh.RunFailed,))
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
