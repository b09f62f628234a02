"""What the pipeline remembers between runs: per stage, the hash of its inputs and what it produced."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.base import jsonfile
from engine.base.atomic import write_text_atomic

STATE_FILE = "state.json"


def fingerprint(folder: Path) -> list[tuple[str, int, int]]:
    """Names, sizes and modification times of a folder's files: cheap, and changes when the files do."""
    if not folder.is_dir():
        return []
    return sorted(
        (str(f.relative_to(folder)), f.stat().st_size, f.stat().st_mtime_ns)
        for f in folder.rglob("*")
        if f.is_file() and not any(part.startswith(".") for part in f.relative_to(folder).parts)
    )


def inputs_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


@dataclass
class StageRecord:
    status: str = ""  # done | failed | cancelled
    key: str = ""  # the inputs hash of the last successful run
    finished: str = ""
    duration_s: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass
class PipelineState:
    path: Path
    stages: dict[str, StageRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, workdir: Path) -> PipelineState:
        path = workdir / STATE_FILE
        data = jsonfile.read_object_or_none(path) or {}
        try:
            stages = {name: StageRecord(**record) for name, record in data.get("stages", {}).items()}
        except (AttributeError, TypeError):
            stages = {}  # no state, or a damaged one: every stage runs again
        return cls(path, stages)

    def record(self, name: str) -> StageRecord:
        return self.stages.setdefault(name, StageRecord())

    def fresh(self, name: str, key: str) -> bool:
        record = self.stages.get(name)
        return record is not None and record.status == "done" and record.key == key

    def finish(
        self,
        name: str,
        status: str,
        *,
        key: str = "",
        duration_s: float = 0.0,
        outputs: dict[str, Any] | None = None,
        message: str = "",
    ) -> StageRecord:
        previous = self.stages.get(name, StageRecord())
        record = StageRecord(
            status=status,
            key=key if status == "done" else previous.key,
            finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
            duration_s=round(duration_s, 2),
            outputs=outputs if outputs is not None else previous.outputs,
            message=message,
        )
        self.stages[name] = record
        self.save()
        return record

    def save(self) -> None:
        data = {"stages": {name: asdict(record) for name, record in self.stages.items()}}
        write_text_atomic(self.path, json.dumps(data, indent=2) + "\n")
