"""Worker: a deployed model served to applications through Foundry Local's OpenAI-compatible web service.

Spec: ``engine.process.workers.ServeSpec`` (model, cache_dir, host, port).
The model is loaded in the in-process runtime, whose web service listens on
a free loopback port; the checking proxy (engine.workers.proxy) listens on
``host:port`` in front of it, and is what applications get. Results: one
``{"op": "ready", ...endpoint}``, then ``{"op": "request", ...record}`` per
request. Runs until stdin closes or SIGTERM, then stops the proxy and the web
service and unloads the model.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from engine.endpoint.records import Endpoint, RequestRecord
from engine.process.workers import ServeSpec
from engine.workers import protocol as p
from engine.workers.generate_foundry import FoundryModel
from engine.workers.proxy import EndpointProxy, ServedModel, url_host

_emit_lock = threading.Lock()  # requests are recorded from the proxy's threads


def _result(data: dict[str, Any]) -> None:
    with _emit_lock:
        p.result(data)


def _bind(host: str, port: int, upstream: tuple[str, int], served: ServedModel) -> EndpointProxy:
    def record(r: RequestRecord) -> None:
        _result({"op": "request", **r.to_dict()})

    try:
        return EndpointProxy((host, port), upstream, served, record)
    except OSError as exc:
        raise p.WorkerError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.", "Pick another port with --port, or 0 for a free one."
        ) from None


def serve_until_told(model: Path, stdin: IO[str], poll_s: float = 1.0) -> bool:
    """Wait until the input closes (True: told to stop) or the model's folder is gone (False: removed from the
    cache while served, so clients would get errors for a model the cache no longer has)."""
    stopped = threading.Event()

    def read() -> None:
        stdin.read()  # this worker takes no requests: its input closing is the signal to stop
        stopped.set()

    threading.Thread(target=read, name="stdin", daemon=True).start()
    while not stopped.wait(poll_s):
        if not model.is_dir():
            return False
    return True


def main(data: dict[str, Any]) -> None:
    spec = ServeSpec(**data)
    host, port = spec.host, spec.port
    p.stage("load", detail=spec.model)
    model = FoundryModel(Path(spec.model).expanduser(), Path(spec.cache_dir).expanduser())
    p.stage("load", "done")
    proxy = None
    try:
        model.manager.start_web_service()  # on 127.0.0.1, a free port (engine.workers.foundry_sdk)
        runtime = urlsplit(model.manager.urls[0])
        limit = model.context_length  # the runtime's context within ModelConfig's max_length, as chat and bench take it
        proxy = _bind(host, port, (runtime.hostname, runtime.port), ServedModel(model.model.id, limit, model.count))
        threading.Thread(target=proxy.serve_forever, name="endpoint", daemon=True).start()
        bound_host, bound_port = proxy.server_address[:2]
        endpoint = Endpoint(
            url=f"http://{url_host(bound_host)}:{bound_port}",
            model_id=model.model.id,
            context_limit=limit,
            pid=os.getpid(),
            host=bound_host,
            port=bound_port,
        )
        p.log(f"runtime web service: {model.manager.urls[0]}; proxy: {endpoint.url}")
        _result({"op": "ready", **endpoint.to_dict()})
        if not serve_until_told(Path(spec.model), sys.stdin):
            raise p.WorkerError(
                f"{model.model.id} was removed from the model cache, so it is no longer served.",
                "Deploy it again to serve it (slmops deploy), or serve another model.",
            )
    finally:
        p.stage("stop")
        if proxy is not None:
            proxy.shutdown()
            proxy.close_upstreams()  # the web service stops only once no answer is in progress
            proxy.server_close()
        if model.manager.urls:
            model.manager.stop_web_service()
        if model.model.is_loaded:
            model.model.unload()
        p.stage("stop", "done")


if __name__ == "__main__":
    p.run_worker(main)
