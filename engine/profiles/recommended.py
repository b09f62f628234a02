"""The conversion a new profile starts from: the best measured on this machine, else a cautious default.

In order:

1. this machine's tuner chose a recipe for the architecture before, in a run
   with enough pairs for a verdict: that recipe with its runtime settings
   (``engine.onnx.tune_history``);
2. else RTN int4 with lm_head in 8 bits, pruned to the last position
   (``rtn-int4-b128-head8-prune``), where that route is known to convert the
   architecture: lm_head is the MatMul that 4 bits round worst, and how much a
   model loses to it depends on its size, which only the tuner can tell. What
   it did on the demo is stated only from the committed record
   (``engine.profiles.citations``, checked by ``benchmarks.readme --check``);
3. else the guide's command (``olive auto-opt --precision int4``).

The guide's command is always one choice away: :func:`guide_convert`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from engine.base.choices import DEFAULT_PRECISION, Method, Precision
from engine.onnx import runtime_settings
from engine.onnx import tune_history as history
from engine.profiles import citations
from engine.profiles.profile import RuntimeSection
from engine.recipes.candidates import BY_NAME, Candidate
from engine.recipes.catalog import ConvertSettings

UNTUNED_DEFAULT = "rtn-int4-b128-head8-prune"  # rtn-int4-b128-head8's weights, lm_head pruned to the last position
# Architectures the default's route (ModelBuilder fp32, then RTN passes) converts, as the end-to-end tests check:
# llama (the SmolLM2 demo) and qwen2 (the Qwen2.5-Coder built-in).
KNOWN_ARCHITECTURES = frozenset({"llama", "qwen2"})
# Deployed models compute only the last position's logits in prefill (pruning changes no weight); the embedding
# table is quantized with the rest (benchmarks/deploy_choices.py measures both choices on one-knob pairs).
DEPLOY_KNOBS = {"prune_lm_head": True}


@dataclass(frozen=True)
class Recommendation:
    convert: ConvertSettings
    runtime: RuntimeSection
    reason: str
    candidate: str  # the tuner's candidate name, or "guide-int4"

    def named(self) -> str:
        """The conversion in the profile's own words: its recipe and the knobs set apart from the defaults (the
        tuner's name for it, ``candidate``, is nowhere in the profile)."""
        convert, default = self.convert, ConvertSettings()
        knobs = [
            f"{f.name} = {str(value).lower() if isinstance(value, bool) else value}"
            for f in dataclasses.fields(ConvertSettings)
            if f.name not in ("method", "precision", "recipe") and (value := getattr(convert, f.name)) != getattr(default, f.name)
        ]
        what = f"recipe {convert.recipe}" if convert.recipe else f"method {convert.method}, precision {convert.precision}"
        return what + (f" ({', '.join(knobs)})" if knobs else "")


def convert_section(candidate: Candidate, extra: dict | None = None) -> ConvertSettings:
    """The [convert] section that runs ``candidate`` (what the tuner's apply writes)."""
    recipe = candidate.recipe_data
    knobs = {**candidate.settings, **(extra or {})}
    known = {f.name for f in dataclasses.fields(ConvertSettings)}
    return ConvertSettings(
        method=recipe.method,
        precision=recipe.precision,
        recipe=candidate.recipe,
        **{k: v for k, v in knobs.items() if k in known},
    )


def guide_convert() -> ConvertSettings:
    """The guide's command: olive auto-opt, int4, the model builder's defaults."""
    return ConvertSettings(method=Method.AUTO_OPT, precision=Precision.INT4)


def recommended_convert(model_type: str) -> tuple[Recommendation, str]:
    """The recommended conversion for an architecture (``config.json``'s ``model_type``) and why.

    The reason follows the candidate's name where it is shown ("rtn-int4-b32: chosen by this machine's tuning..."),
    so it does not start with that name again. It says why (the tuner's own words: a gain over the guide's recipe,
    or only its quality) and cites the report, or says the recipe is a default."""
    past = history.latest(model_type) if model_type else None
    if past is not None and past.get("recipe"):
        candidate = Candidate(past["candidate"], past["recipe"], dict(past.get("convert") or {}))
        chosen = runtime_settings.from_report(past.get("settings"))
        runtime = (
            RuntimeSection(chosen[runtime_settings.INTRA_OP], runtime_settings.measured_source(past["date"][:10]))
            if chosen
            else RuntimeSection()
        )
        figures = past.get("figures") or {}
        measured = ", ".join(
            ([f"{figures['decode_tps']:.0f} tok/s"] if figures.get("decode_tps") else [])
            + ([f"perplexity {figures['perplexity']:.2f}"] if figures.get("perplexity") else [])
        )
        reason = (
            f"chosen by this machine's tuning of {model_type} on {past['date'][:10]}: "
            + (past.get("why") or "the tuner's choice")
            + (f" ({measured})" if measured else "")
            + (f"; report {past['report']}" if past.get("report") else "")
        )
        extra = DEPLOY_KNOBS if candidate.recipe_data.method == Method.CONFIG else None  # pruning changes no weight
        result = Recommendation(convert_section(candidate, extra), runtime, reason, candidate.name)
    elif model_type in KNOWN_ARCHITECTURES:
        record = citations.citation(citations.UNTUNED_DEFAULT)
        reason = (
            f"a default, not measured on this machine: RTN int4 with lm_head in 8 bits, a route known to convert "
            f"{model_type}; not tuned on this machine yet"
            + (f"; on the SmolLM2-135M demo it {record.cited()}" if record else "")
            + "; slmops tune measures it against the others here"
        )
        result = Recommendation(convert_section(BY_NAME[UNTUNED_DEFAULT]), RuntimeSection(), reason, UNTUNED_DEFAULT)
    else:
        reason = (
            f"a default, the guide's command: the RTN route is not known to convert {model_type or 'this architecture'}; "
            "slmops tune measures the others"
        )
        result = Recommendation(guide_convert(), RuntimeSection(), reason, "guide-int4")
    return result, result.reason


# A repaired conversion is checked against transformers on the model builder's fp32 graph, which these recipes
# build before quantizing it (the guide's command quantizes while it builds: nothing unquantized to check).
REPAIRED = {Precision.INT4: "rtn-int4-b128-head8", Precision.INT8: "rtn-int8"}


def starting_convert(
    model_type: str, precision: Precision = DEFAULT_PRECISION, *, guide: bool = False, repaired: bool = False
) -> tuple[Recommendation, str]:
    """What a new profile converts with: the recommendation for int4, the guide's command when asked or for other
    precisions; for a model that needs a repair, a recipe that builds the fp32 graph the repair is checked on."""
    if repaired and not guide and precision in REPAIRED:
        candidate = BY_NAME[REPAIRED[precision]]
        reason = "builds the fp32 graph first: the repair is checked on it against transformers, then it is quantized"
        return Recommendation(convert_section(candidate), RuntimeSection(), reason, candidate.name), reason
    if precision == Precision.INT4 and not guide:
        return recommended_convert(model_type)
    section = dataclasses.replace(guide_convert(), precision=precision)
    if precision == Precision.INT8:
        reason = "int8 on the CPU goes through the rtn-int8 workflow (auto-opt has no int8 route that works there)"
    else:
        reason = f"the guide's one command (olive auto-opt --use_model_builder --precision {precision})"
    return Recommendation(section, RuntimeSection(), reason, f"guide-{precision}"), reason
