"""Worker: an ONNX Runtime GenAI model kept loaded, serving chat generations (see engine.workers.serving).

Spec: ``{"model": DIR}``. The prompt comes from the folder's PromptTemplate
(inference_model.json) when it has one, else from the tokenizer's chat template,
else (a base model) the messages' text as it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.model.templates import PLAIN, read_chat_template
from engine.onnx import genai_config
from engine.process.conventions import ONE_PASS, TOKEN_BY_TOKEN
from engine.workers import prompt
from engine.workers.protocol import WorkerError, run_worker
from engine.workers.serving import Prepared, serve


class OrtModel:
    def __init__(self, folder: Path) -> None:
        import numpy as np
        import onnxruntime_genai as og

        config = genai_config.read(folder)  # a missing or damaged file: a clear error, before the runtime's own
        self._og, self._np = og, np
        self.folder = folder
        self.model = og.Model(str(folder))
        self.tokenizer = og.Tokenizer(self.model)
        self.context_length = genai_config.sequence_limit(config) or 2048  # what the runtime takes, prompt and answer
        # Quantization passes may rename the graph output (logits -> logits_Q4); asking
        # ONNX Runtime GenAI for a name the graph lacks crashes the process.
        self.logits_name = config.get("model", {}).get("decoder", {}).get("outputs", {}).get("logits", "logits")
        self.template = prompt.prompt_template(folder)
        # A base model (profile template "plain") has no chat template to apply: its text is the prompt.
        self.plain = self.template is None and not read_chat_template(folder).strip()
        if self.plain:
            self.template = PLAIN.to_dict()

    def info(self) -> dict[str, Any]:
        if self.plain:
            template = "plain (the tokenizer has no chat template)"
        else:
            template = "inference_model.json" if self.template else "tokenizer"
        return {"model": str(self.folder), "backend": "onnxruntime-genai", "template": template}

    def render(self, messages: list[dict[str, str]]) -> str:
        if self.template:
            return prompt.render(self.template, messages)
        return self.tokenizer.apply_chat_template(json.dumps(messages), add_generation_prompt=True)

    def encode(self, text: str) -> list[int]:
        return prompt.encode(self.tokenizer, text, self.folder)

    def count(self, messages: list[dict[str, str]]) -> int:
        return len(self.encode(self.render(messages)))

    def prepare(self, request: dict[str, Any]) -> Prepared:
        tokens = self.encode(self.render(request["messages"]))
        new_tokens = max(1, int(request.get("max_new_tokens", 256)))
        max_length = min(self.context_length, len(tokens) + new_tokens)
        options = self._search_options(request, max_length, len(tokens))
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(**options)
        generator = self._og.Generator(self.model, params)
        counted = {"tokens": 0}

        def after() -> dict[str, Any]:
            forced = options.get("min_length", 0) - len(tokens)
            return {
                "forced_length": forced > 0 and counted["tokens"] >= forced,
                "finish_reason": "length" if len(tokens) + counted["tokens"] >= max_length else "stop",
            }

        return Prepared(tokens_in=len(tokens), pieces=self._pieces(generator, tokens, counted), after=after)

    @staticmethod
    def _search_options(request: dict[str, Any], max_length: int, tokens_in: int) -> dict[str, Any]:
        temperature = float(request.get("temperature", 0.0))
        sample = bool(request.get("do_sample", temperature > 0))
        options: dict[str, Any] = {
            "max_length": max_length,
            "do_sample": sample,
            "repetition_penalty": float(request.get("repetition_penalty", 1.0)),
        }
        minimum = int(request.get("min_new_tokens") or 0)
        if minimum > 0:  # end-of-sequence is not taken before this length: equal work for benchmarks
            options["min_length"] = min(max_length, tokens_in + minimum)
        if sample:
            options.update(temperature=max(temperature, 1e-3), top_p=float(request.get("top_p", 1.0)))
        return options

    def _pieces(self, generator, tokens, counted: dict[str, int]) -> Iterator[str]:
        stream = self.tokenizer.create_stream()
        generator.append_tokens(tokens)  # the prefill runs here, inside the first step the caller times
        while not generator.is_done():
            generator.generate_next_token()
            counted["tokens"] += 1
            yield stream.decode(generator.get_next_tokens()[0])

    def perplexity(self, text: str, method: str = TOKEN_BY_TOKEN) -> dict[str, Any]:
        """Perplexity of ``text`` under the model, scored ``method``: from the logits of one pass over it, or
        token by token (each step giving the logits of the next position).

        A model built with ``prune_lm_head`` returns only the last position's logits from a prompt, so it can
        be scored token by token only; asked for one pass, it says so rather than switching silently.
        """
        np = self._np
        tokens = self.encode(text)
        if len(tokens) < 2:
            raise WorkerError("The perplexity text is too short.", "Give bench.perplexity_text a sentence or more.")
        tokens = tokens[: self.context_length - 1]
        if method == ONE_PASS:
            params = self._og.GeneratorParams(self.model)
            params.set_search_options(max_length=len(tokens) + 1)
            generator = self._og.Generator(self.model, params)
            generator.append_tokens(tokens)
            output = np.asarray(generator.get_output(self.logits_name), dtype=np.float64)
            if output.size // output.shape[-1] != len(tokens):
                raise WorkerError(
                    "This model computes only the last position's logits from a prompt (prune_lm_head), "
                    "so it cannot be scored in one pass.",
                    "Score it token by token.",
                )
            logits = output.reshape(len(tokens), output.shape[-1])
        else:
            logits = self._stepwise_logits(tokens)
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        nll = -log_probs[np.arange(len(tokens) - 1), tokens[1:]].mean()
        return {"perplexity": round(float(math.exp(nll)), 4), "tokens": len(tokens), "method": method}

    def _stepwise_logits(self, tokens) -> Any:
        """The logits after each token but the last (what predicts the next one), appending one token at a time."""
        np = self._np
        params = self._og.GeneratorParams(self.model)
        params.set_search_options(max_length=len(tokens) + 1)
        generator = self._og.Generator(self.model, params)
        rows = []
        for token in tokens[:-1]:
            generator.append_tokens([int(token)])
            output = np.asarray(generator.get_output(self.logits_name), dtype=np.float64)
            rows.append(output.reshape(-1, output.shape[-1])[-1])
        return np.stack(rows)


def main(spec: dict[str, Any]) -> None:
    serve(lambda s: OrtModel(Path(s["model"]).expanduser()), spec)


if __name__ == "__main__":
    run_worker(main)
