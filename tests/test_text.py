"""Untrusted text stays literal wherever it is shown."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from incidentbot.core import text

HOSTILE = "<!channel> <@U0ALICE001> <https://evil.example|click> &amp; `rm -rf` *bold* Ω ‮"


def test_slack_escaping_makes_mentions_inert() -> None:
    escaped = text.slack(HOSTILE)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.startswith("&lt;!channel&gt; &lt;@U0ALICE001&gt;")
    assert "&amp;amp;" in escaped


@given(st.text())
def test_slack_escaped_text_has_no_control_sequences(raw: str) -> None:
    escaped = text.slack(raw)
    assert "<" not in escaped and ">" not in escaped
    assert re.sub(r"&(amp|lt|gt);", "", escaped).count("&") == 0


def test_markdown_escaping() -> None:
    assert text.markdown("# title [x](http://e) *a* <b>") == (
        r"\# title \[x\](http://e) \*a\* \<b\>")
    assert text.markdown_cell("a|b\nc") == r"a\|b c"
    # Block markers only at the start of a line; ordinary punctuation stays readable.
    assert text.markdown("well-known. 2. ok\n- item\n1. first\n> quote\n===") == (
        "well-known. 2. ok\n\\- item\n1\\. first\n\\> quote\n\\===")


def test_html_escaping() -> None:
    assert text.html_text('<script>"x"</script>') == "&lt;script&gt;&quot;x&quot;&lt;/script&gt;"


@given(st.text(), st.integers(1, 300))
def test_truncate_respects_the_limit(raw: str, limit: int) -> None:
    cut = text.truncate(raw, limit)
    assert len(cut) <= limit
    assert cut == raw or cut.endswith("…")


@given(st.text(alphabet="ab&<> ", max_size=400), st.integers(2, 250))
def test_truncate_escaped_never_splits_an_entity(raw: str, limit: int) -> None:
    cut = text.truncate_escaped(raw, limit)
    assert len(cut) <= limit
    body = cut.removesuffix("…")
    assert re.sub(r"&(amp|lt|gt);", "", body).count("&") == 0


_BLOCKS = ("<a ", "<h1", "<h2", "<em", "<strong", "<code", "<img", "<ul", "<ol", "<blockquote",
           "<hr", "<table", "<s>", "<del", "<pre")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("#>-+=*_`[]()<>|~!\\1. \nabc:/")), max_size=40)
       | st.sampled_from(["a\n\n    indented code", "x\n---", "1) one", "![i](u)", "<!-- c -->",
                          "http://auto.link", "<http://x>", "~~s~~", "| a | b |\n|---|---|",
                          "|\n:-"]))
def test_escaped_markdown_renders_as_plain_text(raw: str) -> None:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(
        "Text: " + text.markdown(raw) if "\n" not in raw else text.markdown(raw))
    assert not any(tag in html for tag in _BLOCKS), (raw, html)
