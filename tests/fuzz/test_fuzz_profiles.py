"""Profile TOML, generated: the shipped profiles with values swapped for other TOML values, lines cut or added,
and text of any kind. A profile, or a ProfileError with a hint."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.base import locations
from engine.profiles.profile import load_profile
from tests.fuzz.conftest import FUZZ, MEMORY_GROWTH, peak_rss, target

SHIPPED = [p.read_text(encoding="utf-8") for p in sorted(locations.shipped_profiles_dir().glob("*.toml"))]
LITERALS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True).map(lambda f: {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(f), repr(f))),
    st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(["true", "false", "[]", "[1, 2]", '["a", 3]', "{}", "{ a = 1 }", "1979-05-27", "''", '"@demo"', '"@nope"']),
)


@st.composite
def profile_text(draw) -> str:
    lines = draw(st.sampled_from(SHIPPED)).splitlines()
    rng = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(0, 4))):
        at = rng.randrange(len(lines))
        how = rng.randrange(4)
        if how < 2 and " = " in lines[at]:  # another value for a setting
            lines[at] = lines[at].split(" = ", 1)[0] + " = " + draw(LITERALS)
        elif how == 2:
            del lines[at]
        else:
            lines.insert(at, draw(st.one_of(st.text(max_size=30), st.sampled_from(["[convert]", "[x.y]", "a = 1", "name = 5"]))))
    return "\n".join(lines)


@target("profile toml", "profile TOML: the shipped profiles with values swapped, lines cut or added, and any text")
def load(path) -> None:
    load_profile(path).to_toml()


def test_profile_toml(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz-profile") / "p.toml"
    before = peak_rss()

    @FUZZ
    @given(st.one_of(profile_text(), profile_text(), st.text(max_size=200)))
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        load(path)

    check()
    assert peak_rss() - before < MEMORY_GROWTH
