"""``slmops chat MODEL``: a plain line-by-line chat on a terminal, without the full-screen app.

Tokens are printed as they come; Ctrl-C stops the answer (a second Ctrl-C
at the prompt quits), ``/quit`` quits, ``/clear`` forgets the conversation.
Questions piped in are answered greedy (the model's best answer, the same every
time) unless ``--temperature`` is given; typed ones with the profile's sampling.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from engine.cli import profile_option
from engine.cli.interrupts import on_interrupt
from engine.onnx import genai_config
from engine.profiles.profile import BACKENDS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "chat",
        help="chat with a converted or deployed model on a plain terminal (questions piped in are answered greedy)",
    )
    parser.add_argument(
        "model",
        nargs="?",
        help="a deployed model (NAME:VERSION, or NAME for its newest version) or a model folder (with genai_config.json); "
        "default: the profile's converted output",
    )
    profile_option.add(parser, "profile for the defaults (default: demo)")
    parser.add_argument("--backend", choices=BACKENDS, help="what runs the model (default: the profile's chat.backend)")
    parser.add_argument("--system", help="system prompt (default: the profile's)")
    parser.add_argument("--max-new-tokens", type=int, help="answer length limit in tokens")
    parser.add_argument(
        "--temperature",
        type=float,
        help="0 for greedy (default: the profile's ModelConfig when typed; greedy for questions piped in)",
    )
    parser.set_defaults(handler=handle)


def chosen_model(arg: str | None, profile) -> Path:
    """The model named on the command line (deployed, or a folder), or the profile's converted output."""
    from engine.foundry.cache import resolve_location, resolve_model

    if arg:
        return resolve_model(arg, resolve_location(None, profile.deploy.cache_dir).path)
    return genai_config.require(profile.output_path())


def handle(args: argparse.Namespace) -> int:

    profile = profile_option.chosen(args)
    return asyncio.run(_chat(chosen_model(args.model, profile), profile, args))


def conversation_from(profile, args: argparse.Namespace):
    """The profile's conversation, with what the command line changes in it."""
    from engine.conversation import conversation_for
    from engine.model.sampling import greedy

    conversation = conversation_for(profile)
    if args.system is not None:
        conversation.system_prompt = args.system
    if args.max_new_tokens:
        conversation.settings.max_new_tokens = args.max_new_tokens
    if args.temperature is not None:
        conversation.settings.temperature = args.temperature
    elif not sys.stdin.isatty():  # questions piped in: each gets the model's best answer, not a sampled one
        for name, value in vars(greedy()).items():
            setattr(conversation.settings, name, value)
    return conversation


async def _chat(model: Path, profile, args: argparse.Namespace) -> int:
    from engine.backends import make_backend
    from engine.base.units import count, human_bytes
    from engine.conversation import TurnsDropped
    from engine.process.events import Error, Result, Token

    backend = make_backend(args.backend or profile.chat.backend, model)
    conversation = conversation_from(profile, args)
    loop = asyncio.get_running_loop()
    print(f"Loading {model} ({backend.name}) ...", file=sys.stderr, flush=True)
    try:
        while True:
            try:
                line = await loop.run_in_executor(None, _read_line)
            except (EOFError, KeyboardInterrupt):
                break
            if line.strip() in ("/quit", "/exit"):
                break
            if line.strip() == "/clear":
                conversation.clear()
                print("(conversation cleared)", file=sys.stderr)
                continue
            async with on_interrupt(backend.stop_generation):
                async for event in conversation.send(backend, line):
                    if isinstance(event, Token):
                        print(event.text, end="", flush=True)
                    elif isinstance(event, TurnsDropped):
                        print(f"({count(event.count, 'turn')} dropped, the oldest, to fit the context window)", file=sys.stderr)
                    elif isinstance(event, Result):
                        print()
                        print(_status(event.data, backend.resident, human_bytes), file=sys.stderr, flush=True)
                    elif isinstance(event, Error):
                        print(f"\nerror: {event.message}\n  what to do: {event.hint}", file=sys.stderr, flush=True)
    finally:
        await backend.close()
    return 0


def _read_line() -> str:
    return input("> " if sys.stdin.isatty() else "")


def _status(data: dict, resident, human_bytes) -> str:
    ttft = f"{data['ttft_ms']:.0f} ms" if data.get("ttft_ms") else "-"
    tps = f"{data['decode_tps']:.1f}" if data.get("decode_tps") else "-"
    stopped = " (stopped)" if data.get("stopped") else ""
    return (
        f"[ttft {ttft} | {tps} tok/s | {data.get('tokens_in', 0)}+{data.get('tokens_out', 0)} tokens"
        f" | rss {human_bytes(resident.rss_bytes)} | cpu {resident.cpu_percent:.0f}%]{stopped}"
    )
