"""Chat on the real demo model (int4) through the ONNX Runtime GenAI backend: answers, stops, crashes, context."""

from __future__ import annotations

import subprocess
import sys

from engine.workers.prompt import render


def test_prompt_template_from_inference_model_json():
    template = {
        "system": "<s>{Content}</s>",
        "user": "<u>{Content}</u>",
        "assistant": "<a>{Content}</a>",
        "prompt": "<u>{Content}</u><a>",
    }
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
        {"role": "user", "content": "q"},
    ]
    assert render(template, messages) == "<s>S</s>\n<u>hi</u>\n<a>yo</a>\n<u>q</u><a>"


def test_headless_chat_refuses_a_folder_that_is_not_a_model(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tui.main", "chat", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "genai_config.json" in run.stderr
