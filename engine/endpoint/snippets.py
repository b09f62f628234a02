"""Ready-to-paste examples of calling the served model from an application."""

from __future__ import annotations

import json

from engine.endpoint.records import Endpoint

QUESTION = "What is the capital of France?"


def curl(endpoint: Endpoint) -> str:
    body = json.dumps({"model": endpoint.model_id, "messages": [{"role": "user", "content": QUESTION}], "stream": True})
    return f"curl -N {endpoint.base_url}/chat/completions -H 'Content-Type: application/json' -d '{body}'"


def python(endpoint: Endpoint) -> str:
    """Lines kept short, so that the example survives being shown (and selected) in an 80-column terminal."""
    return "\n".join(
        [
            "from openai import OpenAI",
            "",
            "client = OpenAI(",
            f'    base_url="{endpoint.base_url}",',
            '    api_key="unused",  # the endpoint has no authentication',
            ")",
            f'question = {{"role": "user", "content": "{QUESTION}"}}',
            "stream = client.chat.completions.create(",
            f'    model="{endpoint.model_id}", messages=[question], stream=True',
            ")",
            "for chunk in stream:",
            "    if chunk.choices:",
            "        text = chunk.choices[0].delta.content",
            '        print(text or "", end="", flush=True)',
        ]
    )
