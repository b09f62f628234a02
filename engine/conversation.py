"""A conversation, independent of any UI: system prompt, turns, and fitting them into the context window.

Before each answer the oldest turns are dropped until the prompt plus the room
for the answer fits the model's context; the caller shows the notice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from engine.backends.base import BackendError, GenerationBackend, GenerationRequest
from engine.model.sampling import ModelConfig, Sampling
from engine.process.events import Error, Event, Result
from engine.profiles.profile import Profile


@dataclass(frozen=True)
class TurnsDropped(Event):
    """Old turns left the conversation so that the new message fits the context window."""

    type: ClassVar[str] = "turns_dropped"
    count: int
    tokens_in_context: int


@dataclass
class Turn:
    user: str
    assistant: str = ""


@dataclass
class Settings(ModelConfig):
    """The guide's ModelConfig (its max_length is the context the conversation may use, capped by the model's),
    plus the answer length; editable between messages."""

    max_new_tokens: int = 256


@dataclass
class Conversation:
    system_prompt: str = ""
    settings: Settings = field(default_factory=Settings)
    turns: list[Turn] = field(default_factory=list)
    tokens_in_context: int = 0

    def messages(self, pending: str | None = None) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        for turn in self.turns:
            messages += [{"role": "user", "content": turn.user}, {"role": "assistant", "content": turn.assistant}]
        if pending is not None:
            messages.append({"role": "user", "content": pending})
        return messages

    def clear(self) -> None:
        self.turns.clear()
        self.tokens_in_context = 0

    def budget(self, backend: GenerationBackend) -> int:
        """Tokens the prompt may take: the usable context minus room for the answer."""
        context = min(self.settings.max_length, backend.resident.context_length or self.settings.max_length)
        return context - self.settings.max_new_tokens

    async def fit(self, backend: GenerationBackend, message: str) -> int:
        """Drop the oldest turns until ``message`` fits; returns how many were dropped."""
        dropped = 0
        while True:
            tokens = await backend.count_tokens(self.messages(message))
            if tokens <= self.budget(backend) or not self.turns:
                self.tokens_in_context = tokens
                return dropped
            self.turns.pop(0)
            dropped += 1

    def request(self, message: str) -> GenerationRequest:
        return GenerationRequest(self.messages(message), self.settings.max_new_tokens, Sampling.of(self.settings))

    async def send(self, backend: GenerationBackend, message: str) -> AsyncIterator[Event]:
        """Fit, then stream the answer; the turn is kept once a Result arrives (a stopped answer too)."""
        try:
            await backend.start()
            dropped = await self.fit(backend, message)
        except BackendError as exc:
            yield Error(exc.message, exc.hint)
            return
        if dropped:
            yield TurnsDropped(dropped, self.tokens_in_context)
        async for event in backend.generate(self.request(message)):
            if isinstance(event, Result):
                self.turns.append(Turn(message, event.data.get("text", "")))
                self.tokens_in_context += int(event.data.get("tokens_out", 0))
            yield event


def conversation_for(profile: Profile) -> Conversation:
    """A new conversation as the profile sets it up: its system prompt, ModelConfig and answer length."""
    settings = Settings(**asdict(profile.deploy.model_config), max_new_tokens=profile.chat.max_new_tokens)
    return Conversation(profile.chat.system_prompt, settings)
