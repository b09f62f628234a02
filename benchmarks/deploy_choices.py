"""Size, perplexity, speed and prefill memory of converted models side by side (pruned lm_head, embedding bits, ...).

For each model folder: size on disk; perplexity of the demo profile's text
(through the perplexity op slmops itself uses, which goes token by token on a
model with a pruned lm_head); decode tok/s and time to first token at 512
tokens (medians over rounds, the models taken in turn each round, a fresh
process per run); peak memory of a process that loads the model and runs a
``--memory-tokens`` prompt (ru_maxrss, a fresh process in each of the first
``--memory-rounds`` rounds).

    python benchmarks/deploy_choices.py DIR [DIR ...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fresh import json_from_fresh_process  # noqa: E402
from benchmarks.runtime_settings import RUN  # noqa: E402

PERPLEXITY = r"""
import json, sys, tomllib
from pathlib import Path
from engine.workers.generate_ort import OrtModel
text = tomllib.loads(Path(sys.argv[2]).read_text())["bench"]["perplexity_text"]
print(json.dumps(OrtModel(Path(sys.argv[1])).perplexity(text)))
"""

MEMORY = r"""
import json, resource, sys, time
import onnxruntime_genai as og
model = og.Model(sys.argv[1])
tok = og.Tokenizer(model)
n = int(sys.argv[2])
tokens = tok.encode(" ".join(["The quick brown fox jumps over the lazy dog."] * (n // 8 + 10)))[:n]
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
params = og.GeneratorParams(model)
params.set_search_options(max_length=n + 2, do_sample=False)
gen = og.Generator(model, params)
start = time.perf_counter()
gen.append_tokens(tokens)
gen.generate_next_token()
ttft = time.perf_counter() - start
print(json.dumps({"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "after_load_bytes": loaded,
                  "ttft_ms": ttft * 1000, "tokens": len(tokens)}))
"""


def run(code: str, *args: str) -> dict:
    return json_from_fresh_process(["-c", code, *args], f"{args}")


def size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file() and f.suffix in (".onnx", ".data"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--rounds", type=int, default=3, help="0: size and perplexity only")
    parser.add_argument("--memory-tokens", type=int, default=2000)
    parser.add_argument("--memory-rounds", type=int, default=1, help="rounds that also measure the long prompt's memory")
    parser.add_argument("--text", type=Path, default=ROOT / "profiles" / "demo.toml", help="a profile with bench.perplexity_text")
    args = parser.parse_args()
    names = [m.name for m in args.models]
    ppl = {m.name: run(PERPLEXITY, str(m), str(args.text)) for m in args.models}
    speed: dict[str, list[dict]] = {n: [] for n in names}
    memory: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.rounds):
        for m in args.models if r % 2 == 0 else args.models[::-1]:
            speed[m.name].append(run(RUN, str(m), "64", "512"))
            if r < args.memory_rounds:
                memory[m.name].append(run(MEMORY, str(m), str(args.memory_tokens)))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def med(rows: list[dict], key: str) -> str:
        values = [x[key] for x in rows]
        return f"{statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]" if values else "-"

    print(f"{args.rounds} rounds, fresh process per run, median [min-max]; perplexity of {args.text.name}'s text")
    print(
        "| model | size MB | perplexity (how) | decode tok/s | TTFT 512 ms | "
        f"TTFT {args.memory_tokens} ms | peak RSS {args.memory_tokens} MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for n, m in zip(names, args.models):
        mb = [{"peak": x["peak_rss_bytes"] / 2**20} for x in memory[n]]
        print(
            f"| {n} | {size(m) / 2**20:.0f} | {ppl[n]['perplexity']:.3f} ({ppl[n].get('mode', 'one pass')}) | "
            f"{med(speed[n], 'decode_tps')} | {med(speed[n], 'ttft_ms_long')} | {med(memory[n], 'ttft_ms')} | "
            f"{med(mb, 'peak')} |"
        )
    print(json.dumps({"perplexity": ppl, "speed": speed, "memory": memory}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
