"""The one table of what each number of a profile may be, and the rule that bench inputs fit the context.

The profile loader checks a profile against it; the profile editor's and the chat's number fields build
their validators from it, so a value one of them takes the others take too.
"""

from __future__ import annotations

from dataclasses import dataclass

# Tokens kept free beside a prompt and its answer (the chat template's markers around the prompt).
ANSWER_MARGIN = 8


def number(value: float) -> str:
    """A limit as people write it: 5, not 5.0."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Limit:
    low: float
    high: float
    whole: bool  # a whole number (an int setting), else any number between

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {number(self.low)} to {number(self.high)}"


LIMITS: dict[str, Limit] = {  # key: the setting's path in a profile
    "convert.block_size": Limit(16, 256, whole=True),
    "convert.accuracy_level": Limit(0, 4, whole=True),
    "convert.log_level": Limit(0, 4, whole=True),
    "deploy.model_config.max_length": Limit(1, 1 << 20, whole=True),
    "deploy.model_config.temperature": Limit(0.0, 5.0, whole=False),
    "deploy.model_config.top_p": Limit(0.0, 1.0, whole=False),
    "deploy.model_config.repetition_penalty": Limit(0.5, 5.0, whole=False),
    "chat.max_new_tokens": Limit(1, 1 << 20, whole=True),
    "bench.new_tokens": Limit(1, 1 << 20, whole=True),
    "bench.warmup": Limit(0, 1000, whole=True),
    "bench.repeats": Limit(1, 10000, whole=True),
    "bench.soak_requests": Limit(0, 1_000_000, whole=True),
    "runtime.intra_op_num_threads": Limit(0, 1024, whole=True),
}


def input_room(context: int, new_tokens: int) -> int:
    """The longest prompt, in tokens, that leaves room in ``context`` for an answer of ``new_tokens``."""
    return context - new_tokens - ANSWER_MARGIN


def fitting_lengths(lengths: list[int], context: int, new_tokens: int) -> list[int]:
    """The lengths that fit ``context`` beside an answer; the longest that fits when none does (none when nothing fits)."""
    room = input_room(context, new_tokens)
    return [n for n in lengths if n <= room] or ([room] if room >= 1 else [])


def lengths_problem(lengths: list[int], context: int, new_tokens: int) -> str:
    """Why these bench input lengths cannot all be measured in ``context`` tokens; empty when they can."""
    if any(length < 1 for length in lengths):
        return "input lengths must be at least 1"
    room = input_room(context, new_tokens)
    beyond = [length for length in lengths if length > room]
    if not beyond:
        return ""
    return (
        f"{', '.join(map(str, beyond))} {'does' if len(beyond) == 1 else 'do'} not fit the context: "
        f"{context} tokens (max_length) less {new_tokens} for the answer and {ANSWER_MARGIN} for the template "
        f"leave {max(room, 0)} for the input"
    )
