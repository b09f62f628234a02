"""Provenance: outputs carry a manifest; one made from the same plan is reused, another is never replaced silently."""

from __future__ import annotations

from engine.onnx.provenance import MANIFEST, describe


def test_describe_says_where_an_output_came_from():
    lines = describe(
        {
            "created": "2026-11-25",
            "source": "/m",
            "source_digest": {"sha256": "ab" * 32},
            "recipe": "rtn-int4",
            "precision": "int4",
            "settings": {"block_size": 32},
            "toolchain": {"olive-ai": "0.13.0"},
            "verification": {"answer": "Paris"},
            "repairs": [{"name": "r", "description": "d"}],
        }
    )
    text = "\n".join(lines)
    assert "from /m" in text and "rtn-int4" in text and "block_size=32" in text and "'Paris'" in text and "repair r" in text
    assert MANIFEST == "slmops_manifest.json"


def test_the_bench_takes_a_models_precision_from_its_provenance(tmp_path):
    import json

    from engine.bench.runner import precision_of

    folder = tmp_path / "qwen-int4-but-really-int8"
    folder.mkdir()
    assert precision_of(folder) == "int4"  # made elsewhere: its name is all there is
    (folder / MANIFEST).write_text(json.dumps({"precision": "int8"}), encoding="utf-8")
    assert precision_of(folder) == "int8"
    assert precision_of(tmp_path) == "?"
