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


def test_a_conversation_takes_the_profiles_settings_and_its_requests_carry_them():
    from engine.backends.base import GenerationRequest
    from engine.conversation import conversation_for
    from engine.profiles.profile import profile_from_dict

    profile = profile_from_dict(
        {
            "deploy": {"model_config": {"temperature": 0.3, "max_length": 512}},
            "chat": {"max_new_tokens": 40, "system_prompt": "Be brief."},
        }
    )
    conversation = conversation_for(profile)
    assert conversation.settings.max_length == 512
    assert conversation.request("hi").to_dict() == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "max_new_tokens": 40,
        "min_new_tokens": 0,
        "temperature": 0.3,
        "top_p": 0.9,
        "repetition_penalty": 1.1,
    }
    conversation.settings.temperature = 0.0  # edited between messages, as the chat panel does
    assert conversation.request("again").to_dict()["temperature"] == 0.0
    assert profile.deploy.model_config.temperature == 0.3  # the profile is not changed by it
    assert GenerationRequest([]).to_dict()["temperature"] == 0.0  # a measurement is greedy unless told otherwise
