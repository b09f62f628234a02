"""What the endpoint says about itself: its address, and one record per request (plain data, no runtime imports)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any

# The runtime serves local registrations under this path; ``/v1`` is its public catalog only.
API_PATH = "/catalogs/local/v1"
CLIENT_GONE = 499  # the client closed the connection before the answer ended (nginx's code for it)


@dataclass(frozen=True)
class Endpoint:
    url: str  # http://host:port, what applications connect to
    model_id: str
    context_limit: int  # prompt plus answer, in tokens
    pid: int  # the worker that holds the model
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return self.url + API_PATH

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "base_url": self.base_url}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoint:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class RequestRecord:
    """One request as the proxy saw it; times in milliseconds."""

    started: float  # wall clock, seconds since the epoch
    method: str
    path: str
    status: int
    duration_ms: float
    model: str = ""
    stream: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None
    ttft_ms: float | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def decode_tps(self) -> float | None:
        """Tokens per second after the first one (the decode rate an application sees)."""
        if not self.tokens_out or self.tokens_out < 2 or self.ttft_ms is None or self.duration_ms <= self.ttft_ms:
            return None
        return (self.tokens_out - 1) / ((self.duration_ms - self.ttft_ms) / 1000)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def line(self) -> str:
        """The request's log line: time, request, status, tokens, time to first token, speed."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.started))
        parts = [clock, f"{self.method} {self.path}", str(self.status if self.status != CLIENT_GONE else "client gone")]
        if self.tokens_in is not None or self.tokens_out is not None:
            parts.append(f"{self.tokens_in if self.tokens_in is not None else '?'}+{self.tokens_out or 0} tok")
        if self.ttft_ms is not None:
            parts.append(f"ttft {self.ttft_ms:.0f} ms")
        if self.decode_tps is not None:
            parts.append(f"{self.decode_tps:.1f} tok/s")
        parts.append(f"{self.duration_ms / 1000:.2f} s")
        if self.error:
            parts.append(self.error)
        return "  ".join(parts)
