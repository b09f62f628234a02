"""Worker: a model loaded in the Foundry Local runtime (in-process SDK), serving chat generations.

Spec: ``{"model": DIR, "cache_dir": DIR?}``. A folder the cache already knows
(by the ``Name`` in its inference_model.json) is used as registered; any other
folder holding genai_config.json is registered in the local catalog first.
Each request runs in a fresh chat session, so the conversation is exactly the
messages sent (the engine keeps it, and fits it to the context).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.base import locations
from engine.onnx import genai_config
from engine.profiles.names import ModelId, deployed_model_id
from engine.workers import prompt
from engine.workers.protocol import WorkerError, run_worker
from engine.workers.serving import Prepared, serve


def _free_model_id(folder: Path, taken: set[str]) -> str:
    """An id to register ``folder`` under that takes no other folder's registration: its deployed id
    (``name:<major of Version>``, as the Cache panel and a bare name's lookup read it) when that is free."""
    model = prompt.read_inference_model(folder)
    name = str(model.get("Name") or folder.name)
    parsed = ModelId.parse_or_none(name)
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", parsed.name if parsed else name).strip("-") or "model"
    version = ModelId.parse(deployed_model_id(base, str(model.get("Version") or ""))).version
    while str(ModelId(base, version)) in taken:
        version += 1
    return str(ModelId(base, version))


class FoundryModel:
    def __init__(self, folder: Path, cache_dir: Path) -> None:
        from engine.workers import foundry_sdk as sdk

        if not genai_config.exists(folder):
            raise WorkerError(
                f"{folder} holds no genai_config.json, so Foundry Local cannot run it.",
                "Pick a folder that Convert produced or a Foundry cache entry.",
            )
        self._sdk = sdk
        self.folder = folder
        self.manager = sdk.open_manager(cache_dir)
        # Look the folder up by path: versions of one name live in different folders.
        self.model = sdk.find_by_path(self.manager, folder)
        if self.model is None:
            taken = {m.id for m in sdk.registered(self.manager)}
            self.model = sdk.register(self.manager, folder, _free_model_id(folder, taken))
        self.model.load()
        # The runtime runs past search.max_length (garbling): serving.admit enforces that limit instead.
        try:
            limits = (int(self.model.context_length or 0), genai_config.sequence_limit(genai_config.read(folder)))
        except genai_config.GenaiConfigError as exc:
            raise WorkerError(exc.message, exc.hint) from None
        self.context_length = min((n for n in limits if n > 0), default=2048)

    def info(self) -> dict[str, Any]:
        return {"model": str(self.folder), "backend": "foundry-local", "model_id": self.model.id}

    def _request(self, messages: list[dict[str, str]]):
        from foundry_local_sdk import MessageItem, MessageRole, Request

        roles = {"system": MessageRole.SYSTEM, "user": MessageRole.USER, "assistant": MessageRole.ASSISTANT}
        request = Request()
        for message in messages:
            request.add_item(MessageItem(roles[message["role"]], message["content"]))
        return request

    def count(self, messages: list[dict[str, str]]) -> int:
        from foundry_local_sdk import ChatSession

        with ChatSession(self.model) as session:
            return session.preflight_request(self._request(messages)).prompt_tokens

    def prepare(self, request: dict[str, Any]) -> Prepared:
        from foundry_local_sdk import ChatSession, RequestOptions, SearchOptions

        tokens_in = self.count(request["messages"])  # serving.admit checked that it fits
        temperature = float(request.get("temperature", 0.0))
        room = self.context_length - tokens_in
        search = SearchOptions(
            max_output_tokens=max(1, min(room, int(request.get("max_new_tokens", 256)))),
            do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None,
            top_p=float(request.get("top_p", 1.0)) if temperature > 0 else None,
        )
        chat_request = self._request(request["messages"])
        chat_request.set_options(RequestOptions(search=search))
        done: dict[str, Any] = {"forced_length": False}  # the SDK has no minimum length to ask for
        return Prepared(
            tokens_in=tokens_in, pieces=self._pieces(ChatSession(self.model), chat_request, done), after=lambda: dict(done)
        )

    @staticmethod
    def _pieces(session, chat_request, done: dict[str, Any]) -> Iterator[str]:
        with session:
            session.set_streaming(True)
            # Leaving this loop early (a stop) cancels the request inside the SDK.
            with session.process_streaming_request(chat_request) as stream:
                for item in stream:
                    yield "".join(getattr(part, "text", "") or "" for part in getattr(item, "_parts", [item]))
                # The runtime's own count: streamed pieces may merge tokens.
                with stream.final_response as final:
                    done["tokens_out_runtime"] = final.get_usage().completion_tokens
                    done["finish_reason"] = final.finish_reason.name.lower()

    def perplexity(self, text: str, method: str) -> dict[str, Any]:
        raise WorkerError(
            "Foundry Local does not give logits, so no perplexity here.", "Measure perplexity with the onnxruntime-genai backend."
        )


def main(spec: dict[str, Any]) -> None:
    cache = Path(spec.get("cache_dir") or locations.foundry_cache_dir()).expanduser()
    serve(lambda s: FoundryModel(Path(s["model"]).expanduser(), cache), spec)


if __name__ == "__main__":
    run_worker(main)
