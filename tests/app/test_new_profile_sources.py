"""The New profile screen lists the models in the stores, and judges a picked GGUF from its header (no conversion here)."""

from __future__ import annotations

from engine.base import locations
from engine.process.jobs import REGISTRY
from tests.helpers import report_text, wait_for
from tests.stores import CHATML_GO_TEMPLATE, OllamaStore, hub_repo
from tests.unit.test_gguf_support import with_value
from tui.app import SlmopsApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.new_profile import NewProfileScreen


async def test_a_model_is_picked_from_the_stores_and_a_gguf_converts_only_after_asking(smollm2_gguf, tmp_path, home, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "OLLAMA_MODELS"):
        monkeypatch.delenv(name, raising=False)
    OllamaStore(tmp_path / ".ollama" / "models").model("smollm2", "135m", smollm2_gguf, CHATML_GO_TEMPLATE, {"num_ctx": 4096})
    hub_repo(tmp_path / ".cache" / "huggingface" / "hub", "bartowski/SmolLM2-GGUF", {"SmolLM2-Q4_1.gguf": smollm2_gguf})
    olmo = with_value(smollm2_gguf, tmp_path / "olmo.gguf", "general.architecture", "olmo2")
    # a llama named like Mistral is a mistral to transformers: not streamed, it becomes a folder first
    mistral = with_value(smollm2_gguf, tmp_path / "mistral.gguf", "general.name", "Mistral 135M 8k Lc100K Mix1 Ep2")
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, NewProfileScreen)
        found = screen.query_one("#np-found")
        await wait_for(pilot, lambda: found.option_count == 2 and found.get_option_at_index(0).id)
        assert [found.get_option_at_index(i).id for i in range(2)] == ["bartowski/SmolLM2-GGUF", "ollama:smollm2:135m"]
        await pilot.press("tab", "down", "down", "enter")  # to the list, its second model, picked
        path = screen.query_one("#np-path")
        assert path.value == "ollama:smollm2:135m" and app.focused is path
        await wait_for(pilot, lambda: "supported: model_type llama" in report_text(screen))
        report = report_text(screen)
        assert "Ollama:" in report and "no model folder: the converter streams straight from the GGUF" in report
        assert "conversion: gguf-int4" in report
        assert "max_length 4096" in report  # Ollama's num_ctx, in the choices shown
        assert screen.query_one("#np-name").value == "smollm2-135m"
        path.value = str(mistral)
        await wait_for(pilot, lambda: "saving first turns it into an fp16 Hugging Face folder" in report_text(screen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # not now: nothing starts, nothing is written
        await pilot.pause(0.3)
        assert app.screen is screen and len(REGISTRY) == 0
        assert not locations.gguf_models_dir().exists() and not locations.profiles_dir().exists()
        path.value = str(olmo)
        await wait_for(pilot, lambda: "unsupported" in report_text(screen))
        assert "transformers cannot read GGUF architecture 'olmo2'" in report_text(screen)
