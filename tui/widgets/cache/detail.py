"""The detail of one cache entry: where it is, what is wrong, its files and its inference_model.json."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.base.units import human_bytes
from engine.foundry.cache import CacheEntry
from engine.foundry.inference_model import FILENAME
from engine.model.templates import FAMILY_NAMES
from engine.onnx.provenance import describe, read_manifest

MAX_FILES = 40


class CacheDetail(VerticalScroll):
    DEFAULT_CSS = """
    CacheDetail { border-left: solid $accent; padding: 0 1; }
    """

    def compose(self):
        yield Static("Select a model to see its files.", id="cache-detail-body")

    def show(self, entry: CacheEntry | None) -> None:
        body = self.query_one("#cache-detail-body", Static)
        if entry is None:
            body.update("The cache is empty. Deploy the profile's model with d.")
            return
        head = Text()
        head.append(f"{entry.name} {entry.version}\n", style="bold")
        head.append(f"{entry.model_id or 'not registered with Foundry Local'}\n{entry.path}\n")
        head.append(f"template: {FAMILY_NAMES.get(entry.template_family, entry.template_family)} (from the tokenizer)\n")
        head.append("status: ")
        head.append("ok\n" if entry.valid else f"{entry.status}\n", style="green" if entry.valid else "red")
        files = Text()
        try:
            listing = sorted(f for f in entry.path.rglob("*") if f.is_file())
        except OSError:
            listing = []
        for path in listing[:MAX_FILES]:
            files.append(f"  {path.relative_to(entry.path)}  {human_bytes(path.stat().st_size)}\n")
        if len(listing) > MAX_FILES:
            files.append(f"  ... and {len(listing) - MAX_FILES} more\n")
        try:
            text = (entry.path / FILENAME).read_text(encoding="utf-8")
            inference = Syntax(text, "json", word_wrap=True, theme="ansi_dark")
        except (OSError, UnicodeDecodeError):
            inference = Text(f"({FILENAME} is missing or unreadable)", style="red")
        manifest = read_manifest(entry.path)
        unknown = "(no slmops manifest: where it came from is unknown)\n"
        origin = Text("\n".join(describe(manifest)) + "\n" if manifest else unknown)
        body.update(
            Group(
                head,
                Text("provenance", style="bold"),
                origin,
                Text("files", style="bold"),
                files,
                Text(FILENAME, style="bold"),
                inference,
            )
        )
