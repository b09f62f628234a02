"""A worker that does what its spec says: emit events, print, crash, spawn, hang."""

import itertools
import os
import signal
import subprocess
import sys
import time

from engine.process import rpc
from engine.workers import protocol as p


def answer_out_of_order(hold: int, drop: list) -> None:
    """Answer requests (engine.process.rpc) with a token and an echo, ``hold`` at a time in reverse order, never those in ``drop``."""
    held: list[dict] = []

    def flush() -> None:
        for request in reversed(held):
            p.token(f"<{request.get('text')}>", 1, request.get("id"))
            p.result(rpc.answer(request, lambda r: {"echo": r["text"]}))
        held.clear()

    for request in rpc.requests():
        if request.get("id") not in drop:
            held.append(request)
        if len(held) >= hold:
            flush()
    flush()


def answer_like_foundry(ops: list) -> None:
    """Answer the spec's requests, then those on stdin, with the fields the Cache panel reads from Foundry Local's replies."""

    def handle(request: dict) -> dict:
        model = request.get("model_id", "")
        return {
            "model_id": model,
            "loaded": request["op"] == "load",
            "path": request.get("path", ""),
            "status": "offline",
            "models": 0,
        }

    for request in itertools.chain(ops, rpc.requests()):
        p.result(rpc.answer(request, handle))


def body(spec: dict) -> None:
    for action in spec.get("actions", []):
        kind, arg = action
        if kind == "stage":
            p.stage(arg)
        elif kind == "progress":
            p.progress(arg, 3, f"step {arg}")
        elif kind == "print":
            print(arg)  # a library writing to stdout must not corrupt the stream
        elif kind == "stderr":
            print(arg, file=sys.stderr, flush=True)
        elif kind == "raise":
            raise RuntimeError(arg)
        elif kind == "fail":
            raise p.WorkerError(arg, "do the other thing")
        elif kind == "exit":
            sys.stderr.flush()
            os._exit(arg)
        elif kind == "spawn":
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
            p.log(f"child {child.pid}")
        elif kind == "sleep":
            time.sleep(arg)
        elif kind == "serve":
            for request in rpc.requests():
                p.log(f"echo {request['text']}")
        elif kind == "answer":
            answer_out_of_order(**arg)
        elif kind == "foundry":
            answer_like_foundry(arg)
        elif kind == "mkdir":
            os.makedirs(arg)
        elif kind == "allocate":
            globals()["ballast"] = bytearray(arg * 1024 * 1024)
        elif kind == "sigkill":  # as the kernel's out-of-memory killer ends a process
            os.kill(os.getpid(), signal.SIGKILL)
    p.result({"done": True})


if __name__ == "__main__":
    p.run_worker(body)
