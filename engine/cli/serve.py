"""``slmops serve [NAME]``: serve a deployed model to applications on an OpenAI-compatible endpoint.

Prints the base URL, the model id and examples, then one line per request,
until Ctrl-C (or SIGTERM), when the model is unloaded and the worker ends.
The worker's own output (including the runtime's catalog-fetch noise when
offline) goes to the log file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from engine.cli import profile_option
from engine.cli.interrupts import on_interrupt
from engine.cli.output import fail

NO_AUTH_FLAG = "--i-know-there-is-no-auth"


JSON = "print one JSON line with the URL and model id when ready"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="serve a deployed model on an OpenAI-compatible endpoint (127.0.0.1) until Ctrl-C")
    parser.add_argument(
        "name",
        nargs="?",
        help="deployed model: name, name:version or folder name, or a model folder (default: the profile's deploy name)",
    )
    profile_option.add(parser, "profile for the defaults (default: demo)")
    profile_option.add_cache(parser)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument(
        "--host", default="127.0.0.1", help=f"address to listen on (default: 127.0.0.1); any other needs {NO_AUTH_FLAG}"
    )
    parser.add_argument(
        NO_AUTH_FLAG,
        dest="no_auth_ok",
        action="store_true",
        help="allow a non-loopback --host although the endpoint has no authentication",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from engine.endpoint.service import is_loopback
    from engine.foundry.cache import resolve_location, resolve_model

    if not is_loopback(args.host) and not args.no_auth_ok:
        return fail(
            "serve",
            f"listening on {args.host} would let anyone who can reach this machine use the model: "
            "the endpoint has no authentication.",
            f"Keep the default 127.0.0.1, or add {NO_AUTH_FLAG} if you mean it.",
            status=2,
            as_json=args.json,
        )
    if not 0 <= args.port <= 65535:
        return fail("serve", f"--port {args.port} is not a port.", "Use 0 (a free port) to 65535.", status=2, as_json=args.json)
    profile = profile_option.chosen(args)
    location = resolve_location(args.cache, profile.deploy.cache_dir)
    folder = resolve_model(args.name or profile.deploy_name(), location.path)
    if not is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: the endpoint has NO authentication; anyone who can reach this port "
            "can use the model.",
            file=sys.stderr,
        )
    return asyncio.run(_serve(folder, location.path, args))


async def _serve(folder: Path, cache_dir: Path, args: argparse.Namespace) -> int:
    from engine.endpoint import snippets
    from engine.endpoint.records import Endpoint, RequestRecord
    from engine.endpoint.service import Notice, ServiceMonitor, serve_job, stop
    from engine.process.events import Error

    job = serve_job(folder, cache_dir, host=args.host, port=args.port)
    monitor = ServiceMonitor()
    stopping: list[bool] = []

    def on_signal():
        if stopping:
            return None
        stopping.append(True)
        print("stopping: unloading the model ...", file=sys.stderr, flush=True)
        return stop(job)

    print(f"loading {folder} (log: {monitor.log_path}) ...", file=sys.stderr, flush=True)
    failed: Error | None = None
    try:
        async with on_interrupt(on_signal, signals=(signal.SIGINT, signal.SIGTERM)):
            async for event in job.events():
                shown = monitor.see(event)
                if isinstance(shown, Endpoint):
                    _announce(shown, snippets, args.json)
                elif isinstance(shown, RequestRecord):
                    print(shown.line(), file=sys.stderr, flush=True)
                elif isinstance(shown, Notice):
                    print(f"note: {shown.text}", file=sys.stderr, flush=True)
                elif isinstance(event, Error):
                    failed = event
    finally:
        if job.running:
            await job.cancel()
        monitor.close()
    if stopping:
        print("stopped", file=sys.stderr)
        return 0
    if failed is not None:
        hint = failed.hint or f"See the log: {monitor.log_path}"
        return fail("serve", failed.message, hint, as_json=args.json and not monitor.endpoint)
    return fail("serve", "the serving worker ended unexpectedly.", f"See the log: {monitor.log_path}")


def _announce(endpoint, snippets, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**endpoint.to_dict(), "ok": True, "url": endpoint.base_url, "root_url": endpoint.url}), flush=True)
        return
    print(
        f"serving {endpoint.model_id}\n"
        f"  OpenAI base URL: {endpoint.base_url}\n"
        f"  model id:        {endpoint.model_id}\n"
        f"  context:         {endpoint.context_limit} tokens, prompt plus answer\n\n"
        f"curl:\n  {snippets.curl(endpoint)}\n\n"
        f"Python (pip install openai):\n{_indent(snippets.python(endpoint))}\n\n"
        "Ctrl-C stops it. One line per request follows.",
        flush=True,
    )


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())
