"""The licence gate: public domain, CC0, CC BY and the libraries' own licences in; NC, ND, unknown never."""

from __future__ import annotations

import pytest

from engine.licences import judge, plain


@pytest.mark.parametrize(("licence", "allowed", "named"), [
    ("Public domain", True, "public domain"), ("CC0 1.0", True, "CC0"), ("cc-by-4.0", True, "CC BY 4.0"),
    ("<a href='https://creativecommons.org/licenses/by/3.0'>CC BY 3.0</a>", True, "CC BY 3.0"),
    ("CC BY-SA 4.0", False, "CC BY-SA 4.0"), ("by-nc 2.0", False, "CC BY-NC 2.0"), ("CC BY-ND 4.0", False, "CC BY-ND 4.0"),
    ("CC BY-NC-SA 3.0", False, "CC BY-NC-SA 3.0"), ("", False, "unknown"), ("All rights reserved", False, "All rights reserved"),
    ("GFDL", False, "GFDL"),
])
def test_the_gate_lets_in_only_what_a_monetised_channel_may_use(licence: str, allowed: bool, named: str):
    verdict = judge(licence)
    assert (verdict.allowed, verdict.licence) == (allowed, named) and verdict.reason


def test_share_alike_only_where_the_preset_allows_it_and_the_libraries_own_licences():
    assert judge("CC BY-SA 4.0", allow_share_alike=True).allowed
    assert not judge("CC BY-NC-SA 4.0", allow_share_alike=True).allowed
    assert judge("", library="pexels").licence == "Pexels licence"


def test_commons_html_is_read_as_text():
    assert plain('<span class="x">Photo by <a href="/u">Ann &amp; Bo</a></span>') == "Photo by Ann & Bo"
