"""The Foundry Local runtime in-process (foundry-local-sdk): a small API for workers.

Import this only inside worker processes: ``foundry_local_sdk`` loads
onnxruntime. Usage::

    manager = open_manager(cache_dir)
    model = register(manager, folder, "name:1")
    model.load()
    text, finish, usage = chat_once(model, "What is the capital of France?", max_output_tokens=32)
"""

from __future__ import annotations

import os
from pathlib import Path

from foundry_local_sdk import (
    CatalogType,
    ChatSession,
    Configuration,
    FoundryLocalManager,
    IModel,
    MessageItem,
    MessageRole,
    ModelInfoBuilder,
    Request,
    RequestOptions,
    SearchOptions,
)

APP_NAME = "slmops"
TASK = "chat-completion"


def open_manager(cache_dir: Path) -> FoundryLocalManager:
    """The process's Foundry Local manager on ``cache_dir`` (one per process: the SDK's rule)."""
    if FoundryLocalManager.instance is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        FoundryLocalManager.initialize(
            Configuration(
                app_name=APP_NAME,
                model_cache_dir=os.fspath(cache_dir),
                disable_nonessential_telemetry=True,
                # Should the web service ever start, it listens on loopback only, on a free port.
                web=Configuration.WebService(urls="http://127.0.0.1:0"),
            )
        )
    return FoundryLocalManager.instance


def local_catalog(manager: FoundryLocalManager):
    return manager.get_catalog(CatalogType.LOCAL)


def find(manager: FoundryLocalManager, model_id: str) -> IModel | None:
    return local_catalog(manager).get_model_variant(model_id)


def find_by_path(manager: FoundryLocalManager, folder: Path) -> IModel | None:
    """The registration of ``folder`` whatever its id (versions of one name live in different folders)."""
    target = Path(folder).resolve()
    return next((m for m in registered(manager) if Path(m.get_path()).resolve() == target), None)


def register(manager: FoundryLocalManager, folder: Path, model_id: str) -> IModel:
    """Register ``folder`` (which holds genai_config.json) in the local catalog; replaces a stale entry of the id."""
    catalog = local_catalog(manager)
    if catalog.get_model_variant(model_id) is not None:
        catalog.unregister_model(model_id)
    metadata = ModelInfoBuilder().set_string_property("task", TASK)
    return catalog.register_model(model_path=os.fspath(folder), model_id=model_id, metadata=metadata)


def registered(manager: FoundryLocalManager) -> list[IModel]:
    return local_catalog(manager).list_models()


def chat_once(model: IModel, prompt: str, *, max_output_tokens: int | None = None, greedy: bool = False) -> tuple[str, str, dict]:
    """One question in a fresh chat session: (answer, finish reason, token usage).

    ``greedy``: the model's most likely answer, the same every time; else the model's own sampling
    defaults apply (genai_config.json's search section).
    """
    with ChatSession(model) as session:  # closed at the end: an open session keeps the model from unloading
        request = Request()
        request.add_item(MessageItem(MessageRole.USER, prompt))
        search = SearchOptions(max_output_tokens=max_output_tokens, do_sample=False if greedy else None)
        request.set_options(RequestOptions(search=search))
        with session.process_request(request) as response:
            text = "".join(getattr(part, "text", "") or "" for item in response for part in getattr(item, "_parts", [item]))
            usage = response.get_usage()
            return (
                text,
                response.finish_reason.name.lower(),
                {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                },
            )


def public_catalog_status(manager: FoundryLocalManager) -> tuple[str, int]:
    """("online", n) when the public catalog lists models, ("offline", 0) when it cannot be reached."""
    try:
        count = len(manager.get_catalog(CatalogType.PUBLIC).list_models())
    except Exception:
        return "offline", 0
    return ("online", count) if count else ("offline", 0)
