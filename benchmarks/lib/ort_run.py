"""One bare ONNX Runtime GenAI run, in a process of its own (no torch, no slmops worker), printing JSON.

    python -m benchmarks.lib.ort_run --folder DIR [--chat TEXT] [--new 64] [--long 512] [--peak-at 2000]

Loads the model, warms up, then: greedy decode of exactly ``--new`` tokens after a short prompt (a minimum
length is set, so that the answer cannot end early: every run decodes the same number of tokens), timed as
slmops' worker times it (from before tokenizing to the first token, then the tokens after it over the time
to the last); the first token of a ``--long``-token prompt; and the process's peak memory (VmHWM, exact)
after loading and after a ``--peak-at``-token prompt. A prompt of N tokens repeats the ids of a text (ids
are repeated, never scaled). Scripts build the command with :func:`argv`, so a wrong option fails before
any process starts.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from engine.bench.prompts import FILLER, LONG_ANSWER
from engine.process.jobs import high_water_mark

MODULE = "benchmarks.lib.ort_run"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--chat", default=LONG_ANSWER, help="the short prompt, as a user message in the chat template")
    parser.add_argument("--new", type=int, default=64, help="tokens decoded after the short prompt (0: none)")
    parser.add_argument("--long", type=int, default=0, help="prompt tokens of the first-token run (0: none)")
    parser.add_argument("--peak-at", type=int, default=0, help="prompt tokens of the peak-memory run (0: none)")
    return parser


def argv(folder: Path, *, new: int = 64, long: int = 0, peak_at: int = 0, chat: str = LONG_ANSWER) -> list[str]:
    """The command line of one run (``python -m`` and this module first): checked against :func:`parser`."""
    args = ["--folder", str(folder), "--chat", chat, "--new", str(new), "--long", str(long), "--peak-at", str(peak_at)]
    parser().parse_args(args)
    return ["-m", MODULE, *args]


def peak_bytes() -> int:
    return high_water_mark("self") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    import onnxruntime_genai as og

    args = parser().parse_args()
    started = time.perf_counter()
    model = og.Model(str(args.folder))
    tokenizer = og.Tokenizer(model)
    load_s = time.perf_counter() - started
    result: dict = {"load_s": round(load_s, 3), "peak_bytes_loaded": peak_bytes()}

    def generate(tokens, new: int) -> dict:
        """Greedy, exactly ``new`` tokens; timed from before ``tokens`` were appended (the caller adds encoding)."""
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(tokens) + new, min_length=len(tokens) + new, do_sample=False)
        generator = og.Generator(model, params)
        begin = time.perf_counter()
        generator.append_tokens(tokens)
        first = last = None
        count = 0
        while count < new and not generator.is_done():
            generator.generate_next_token()
            last = time.perf_counter()
            first = first or last
            count += 1
        return {
            "ttft_s": first - begin,
            "decode_tps": (count - 1) / (last - first) if count > 1 and last > first else None,
            "tokens": {"prompt": len(tokens), "generated": count, "forced": count == new},
        }

    def filler(n: int) -> list[int]:
        ids = list(tokenizer.encode(FILLER))
        return (ids * (n // len(ids) + 1))[:n]

    chat = json.dumps([{"role": "user", "content": args.chat}])
    generate(tokenizer.encode(tokenizer.apply_chat_template(chat, add_generation_prompt=True)), 4)  # warm-up
    if args.new:
        begin = time.perf_counter()
        tokens = tokenizer.encode(tokenizer.apply_chat_template(chat, add_generation_prompt=True))
        encoded = time.perf_counter() - begin
        short = generate(tokens, args.new)
        result["short"] = {
            "ttft_ms": round((encoded + short["ttft_s"]) * 1000, 2),
            "decode_tps": short["decode_tps"],
            "tokens": short["tokens"],
        }
    if args.long:
        long = generate(filler(args.long), 1)
        result["long"] = {"ttft_ms": round(long["ttft_s"] * 1000, 2), "tokens": long["tokens"]}
    if args.peak_at:
        peak = generate(filler(args.peak_at), 1)
        result["peak"] = {"ttft_ms": round(peak["ttft_s"] * 1000, 2), "peak_bytes": peak_bytes(), "tokens": peak["tokens"]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
