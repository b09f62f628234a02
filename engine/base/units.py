"""Numbers and words as people read them: sizes, counts, "a" or "an"."""

from __future__ import annotations

GB = 1 << 30


def human_bytes(n: float | None) -> str:
    """1536 -> "1.5 KB"; None -> "-" (figure-ok: examples)."""
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def human_gb(n: float) -> str:
    return f"{n / GB:.1f} GB"


def count(n: int, noun: str, plural: str = "") -> str:
    """A number with its noun in the right form: 1 token, 2 tokens, 0 tokens (``plural`` when not noun + "s")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def article(word: str) -> str:
    """``word`` with "a" or "an" as it is read aloud: an int4, an fp16 (ef-pee), a bf16, a model, an ONNX model."""
    head = word.split()[0] if word.strip() else ""
    first = head[:1].lower()
    # an abbreviation (in capitals, or holding a digit) is read letter by letter: f, h, l, m, n, r, s, x sound a vowel
    spelled = head.isupper() or any(c.isdigit() for c in head)
    vowel = first in "aeiou" or spelled and first in "fhlmnrsx"
    return f"{'an' if vowel else 'a'} {word}"
