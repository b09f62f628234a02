"""Prompts of a chosen length in tokens, measured with the model's own tokenizer."""

from __future__ import annotations

from engine.backends.base import GenerationBackend

FILLER = (
    "The river flows past the old mill, where farmers bring grain each autumn and "
    "children watch the wheel turn slowly in the cold water. "
)
QUESTION = "Summarise the text above in one sentence."
# Where a runtime cannot be made to generate a given number of tokens (Foundry Local), a question whose answer
# runs past the tokens asked for, so that both sides of a comparison stop at the same length.
LONG_ANSWER = "Write a long story about a lighthouse keeper and the sea."


async def prompt_of_length(backend: GenerationBackend, tokens: int, question: str = QUESTION) -> tuple[list[dict[str, str]], int]:
    """Chat messages whose prompt is about ``tokens`` long (at least the bare template), ending with ``question``;
    returns them and the real count."""

    def messages(words: int) -> list[dict[str, str]]:
        text = " ".join((FILLER * (words // 20 + 2)).split()[:words])
        return [{"role": "user", "content": f"{text}\n{question}" if words else question}]

    words = max(0, tokens - 16)
    count = await backend.count_tokens(messages(words))
    for _ in range(4):  # converge: the filler is about one token per word, plus the template's overhead
        if count == tokens or (count < tokens and tokens - count <= 2):
            break
        words = max(0, words + (tokens - count))
        count = await backend.count_tokens(messages(words))
    while count > tokens and words > 0:
        words = max(0, words - (count - tokens))
        count = await backend.count_tokens(messages(words))
    return messages(words), count
