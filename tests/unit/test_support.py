"""The support verdict: refused in under a second, with the model_type and the reason, before any work."""

from __future__ import annotations

from engine.model import builder_source


def test_the_builder_source_is_read_not_imported():
    assert "LlamaForCausalLM" in builder_source.supported_architectures()
    cls, needs = builder_source.builder_needs("Gemma3ForCausalLM")
    assert cls == "Gemma3Model" and "rope_local_base_freq" in {n.name for n in needs}
    gemma = builder_source.config_class("gemma3_text")
    assert gemma is not None and "rope_local_base_freq" in gemma.popped and "query_pre_attn_scalar" in gemma.declared
