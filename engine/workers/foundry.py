"""Worker: the Foundry Local runtime in-process, driven by operations.

Spec: ``{"cache_dir": DIR, "ops": [{"op": ...}, ...], "interactive": false}``.
Each operation emits one result ``{"op": name, ...}``; an interactive worker
then takes further operations as requests on stdin (the app keeps one alive
to hold models loaded). Operations:

- ``register`` {path, model_id}: register a deployed folder in the local catalog
- ``unregister`` {model_id}
- ``list``: registered models and which are loaded
- ``load`` / ``unload`` {model_id}
- ``chat`` {model_id, prompt, max_output_tokens?, temperature?}: one answer, loading the model if needed
- ``remove`` {model_id?, path?, cache_dir}: unload, unregister, delete the folder (only inside the cache)
- ``public``: whether the public catalog can be reached (it needs the internet)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.workers import protocol as p


class FoundryWorker:
    def __init__(self, cache_dir: Path) -> None:
        p.stage("start", detail=str(cache_dir))
        from engine.foundry import sdk  # loads onnxruntime: only here, in the worker

        self.sdk = sdk
        self.cache_dir = cache_dir
        self.manager = sdk.open_manager(cache_dir)
        p.stage("start", "done")

    def model(self, model_id: str):
        model = self.sdk.find(self.manager, model_id)
        if model is None:
            raise p.WorkerError(f"{model_id} is not registered with Foundry Local.", "Deploy it again, or re-register it from the Cache panel.")
        return model

    def run(self, request: dict) -> dict:
        op = request.get("op", "")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise p.WorkerError(f"Unknown operation {op!r}.")
        return {"op": op, **handler(request)}

    def op_register(self, r: dict) -> dict:
        folder = Path(r["path"])
        if not (folder / "genai_config.json").is_file():
            raise p.WorkerError(f"{folder} holds no genai_config.json, so Foundry Local cannot register it.", "Deploy the model again.")
        model = self.sdk.register(self.manager, folder, r["model_id"])
        return {"model_id": model.id, "path": model.get_path()}

    def op_unregister(self, r: dict) -> dict:
        if self.sdk.find(self.manager, r["model_id"]) is not None:
            self.sdk.local_catalog(self.manager).unregister_model(r["model_id"])
        return {"model_id": r["model_id"]}

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
            model, r["prompt"], max_output_tokens=r.get("max_output_tokens"), temperature=r.get("temperature"),
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
                raise p.WorkerError(f"{folder} is outside the cache {cache}; its files were left alone.", "Delete it yourself if you mean to.")
            shutil.rmtree(folder)
            removed = True
        return {"model_id": model_id, "path": str(folder or ""), "was_loaded": was_loaded, "files_removed": removed}

    def op_public(self, r: dict) -> dict:
        status, count = self.sdk.public_catalog_status(self.manager)
        return {"status": status, "models": count}


def main(spec: dict) -> None:
    worker = FoundryWorker(Path(spec["cache_dir"]))
    for request in spec.get("ops", []):
        p.result(worker.run(request))
    if spec.get("interactive"):
        for request in p.requests():
            try:
                p.result(worker.run(request))
            except p.WorkerError as exc:  # one failed request must not end the worker
                p.emit(p.Error(message=exc.message, hint=exc.hint))
            except Exception as exc:  # the runtime's own errors, reported the same way
                p.emit(p.Error(message=f"Foundry Local: {exc}", hint="See the log for details."))


if __name__ == "__main__":
    p.run_worker(main)
