"""Worker: the Foundry Local runtime in-process, driven by operations.

Spec: ``{"cache_dir": DIR, "ops": [{"op": ..., "id": n}, ...], "interactive": false}``.
Each operation is a request of ``engine.process.rpc`` and gets its reply; a worker
that is not interactive stops at the first that fails. An interactive worker
then takes further requests on stdin (the app keeps one alive to hold models
loaded). Operations:

- ``register`` {path, model_id}: register a deployed folder in the local catalog
- ``list``: registered models and which are loaded
- ``load`` / ``unload`` {model_id}
- ``chat`` {model_id, prompt, max_output_tokens?, greedy?}: one answer, loading the model if needed
- ``remove`` {model_id?, path?, cache_dir}: unload, unregister, delete the folder (only inside the cache)
- ``public``: whether the public catalog can be reached (it needs the internet)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.onnx import genai_config
from engine.process import rpc
from engine.workers import protocol as p


class FoundryWorker:
    def __init__(self, cache_dir: Path) -> None:
        p.stage("start", detail=str(cache_dir))
        from engine.workers import foundry_sdk as sdk  # loads onnxruntime: only here, in the worker

        self.sdk = sdk
        self.cache_dir = cache_dir
        self.manager = sdk.open_manager(cache_dir)
        p.stage("start", "done")

    def model(self, model_id: str):
        model = self.sdk.find(self.manager, model_id)
        if model is None:
            raise p.WorkerError(
                f"{model_id} is not registered with Foundry Local.", "Deploy it again, or re-register it from the Cache panel."
            )
        return model

    def run(self, request: dict) -> dict:
        """The reply to one request; a failure is a reply with ``ok: false``, and the worker goes on."""
        return rpc.answer(request, self._handle, hint="Foundry Local failed; the log says more.")

    def _handle(self, request: dict) -> dict:
        op = request.get("op", "")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise p.WorkerError(f"Unknown operation {op!r}.", "Use register, list, load, unload, chat, remove or public.")
        return handler(request)

    def op_register(self, r: dict) -> dict:
        folder = Path(r["path"])
        if not genai_config.exists(folder):
            raise p.WorkerError(
                f"{folder} holds no genai_config.json, so Foundry Local cannot register it.", "Deploy the model again."
            )
        model = self.sdk.register(self.manager, folder, r["model_id"])
        return {"model_id": model.id, "path": model.get_path()}

    def op_list(self, r: dict) -> dict:
        models = self.sdk.registered(self.manager)
        return {"models": [{"model_id": m.id, "path": m.get_path(), "loaded": m.is_loaded} for m in models]}

    def op_load(self, r: dict) -> dict:
        model = self.model(r["model_id"])
        p.stage("load", detail=r["model_id"])
        model.load()
        p.stage("load", "done")
        return {"model_id": model.id, "loaded": model.is_loaded}

    def op_unload(self, r: dict) -> dict:
        model = self.model(r["model_id"])
        if model.is_loaded:
            model.unload()
        return {"model_id": model.id, "loaded": model.is_loaded}

    def op_chat(self, r: dict) -> dict:
        model = self.model(r["model_id"])
        if not model.is_loaded:
            self.op_load(r)
        p.stage("chat", detail=r["prompt"])
        text, finish, usage = self.sdk.chat_once(
            model,
            r["prompt"],
            max_output_tokens=r.get("max_output_tokens"),
            greedy=bool(r.get("greedy")),
        )
        p.stage("chat", "done")
        return {"model_id": model.id, "answer": text, "finish_reason": finish, **usage}

    def op_remove(self, r: dict) -> dict:
        model_id, folder = r.get("model_id", ""), Path(r["path"]) if r.get("path") else None
        was_loaded = False
        model = self.sdk.find(self.manager, model_id) if model_id else None
        if model is not None:
            was_loaded = model.is_loaded
            if was_loaded:
                model.unload()
            self.sdk.local_catalog(self.manager).unregister_model(model_id)
        removed = False
        if folder is not None and folder.exists():
            cache = self.cache_dir.resolve()
            if cache not in folder.resolve().parents:  # never delete anything outside the cache
                raise p.WorkerError(
                    f"{folder} is outside the cache {cache}; its files were left alone.", "Delete it yourself if you mean to."
                )
            shutil.rmtree(folder)
            removed = True
        return {"model_id": model_id, "path": str(folder or ""), "was_loaded": was_loaded, "files_removed": removed}

    def op_public(self, r: dict) -> dict:
        status, count = self.sdk.public_catalog_status(self.manager)
        return {"status": status, "models": count}


def main(spec: dict) -> None:
    worker = FoundryWorker(Path(spec["cache_dir"]))
    interactive = spec.get("interactive", False)
    for request in spec.get("ops", []):
        reply = worker.run(request)
        p.result(reply)
        if not reply["ok"] and not interactive:
            return  # the operations after it depended on it
    if interactive:
        for request in rpc.requests():
            p.result(worker.run(request))


if __name__ == "__main__":
    p.run_worker(main)
