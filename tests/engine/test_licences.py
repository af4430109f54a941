"""The licence gate: public domain, CC0, CC BY and the libraries' own licences in; NC, ND, unknown never."""

from __future__ import annotations

import pytest

from engine.licences import credited, judge, plain


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


# Licence strings as the archives write them: Commons' extmetadata LicenseShortName (and License, for
# templates such as PD-USGov-NASA), Openverse's `license`/`license_version` as the source joins them, NASA's
# credits, and Flickr Commons' phrase. (string, allowed with share-alike allowed, the gate's name or None: as stated)
REAL_LICENCES = [
    # Commons
    ("Public domain", True, "public domain"),
    ("PD-US", True, "public domain"),
    ("PD-USGov", True, "public domain"),
    ("PD-USGov-NASA", True, "public domain"),
    ("PD-USGov-Military-Army", True, "public domain"),
    ("PD-old-70", True, "public domain"),
    ("PD-Art", True, "public domain"),
    ("Public domain in the United States", True, "public domain"),
    ("Public Domain Mark 1.0", True, "public domain"),
    ("Copyright expired, public domain", True, "public domain"),
    ("PD-Russia", False, "public domain"),
    ("Public domain in Russia", False, "public domain"),
    ("Not public domain in the US", False, None),
    ("This work is not in the public domain in the United States", False, None),
    ("Non-public domain", False, None),
    ("CC0", True, "CC0"),
    ("CC0 1.0 Universal", True, "CC0"),
    ("Creative Commons Zero", True, "CC0"),
    ("CC BY 2.0", True, "CC BY 2.0"),
    ("CC BY 3.0 us", True, "CC BY 3.0"),
    ("CC BY 4.0", True, "CC BY 4.0"),
    ("Creative Commons Attribution 4.0", True, "CC BY 4.0"),
    ("Creative Commons Attribution 4.0 International", True, "CC BY 4.0"),
    ("Attribution 4.0 International (CC BY 4.0)", True, "CC BY 4.0"),
    ("Attribution 2.0 Generic", True, "CC BY 2.0"),
    ("CC BY-SA 4.0", True, "CC BY-SA 4.0"),
    ("CC BY-SA 3.0 igo", True, "CC BY-SA 3.0"),
    ("CC BY-SA 2.0 de", True, "CC BY-SA 2.0"),
    ("Attribution-ShareAlike 3.0", True, "CC BY-SA 3.0"),
    ("Creative Commons Attribution-Share Alike 4.0 International", True, "CC BY-SA 4.0"),
    ("Creative Commons Attribution-ShareAlike 3.0 Unported", True, "CC BY-SA 3.0"),
    ("cc-by-sa-4.0", True, "CC BY-SA 4.0"),
    ("GFDL", False, None),
    ("GFDL-self", False, None),
    ("Attribution", False, None),
    ("Copyrighted free use", False, None),
    ("FAL", False, None),
    # Flickr Commons, through Commons and Openverse
    ("No known copyright restrictions", False, None),
    ("No restrictions", False, None),
    # Openverse, as OpenverseSource joins `license` and `license_version`
    ("CC BY 2.0", True, "CC BY 2.0"),
    ("CC BY-NC 2.0", False, "CC BY-NC 2.0"),
    ("CC BY-ND 2.0", False, "CC BY-ND 2.0"),
    ("CC BY-NC-SA 2.0", False, "CC BY-NC-SA 2.0"),
    ("CC BY-NC-ND 4.0", False, "CC BY-NC-ND 4.0"),
    ("CC SAMPLING+ 1.0", False, None),
    ("Attribution-NonCommercial-NoDerivs 2.0 Generic", False, "CC BY-NC-ND 2.0"),
    ("Attribution-NoDerivatives 4.0 International", False, "CC BY-ND 4.0"),
    ("Creative Commons Attribution-NonCommercial 4.0", False, "CC BY-NC 4.0"),
    # NASA's credits as NasaSource reads them
    ("© ESA/Hubble", False, None),
    ("Copyright Getty Images", False, None),
    ("All rights reserved", False, None),
    ("Photo by Bill Ingalls 2.0", False, None),
]


@pytest.mark.parametrize(("licence", "allowed", "named"), REAL_LICENCES)
def test_the_gate_reads_real_licence_strings_as_the_archives_write_them(licence: str, allowed: bool, named: str | None):
    verdict = judge(licence, allow_share_alike=True)
    assert verdict.allowed == allowed, verdict.reason
    assert verdict.licence == (named or licence) and verdict.reason


def test_the_table_holds_forty_real_strings_and_a_negation_is_never_public_domain():
    assert len({licence for licence, _, _ in REAL_LICENCES}) >= 40
    for licence in ("Not public domain in the US", "non-public domain", "Public domain? Not in the US"):
        assert not judge(licence).allowed and judge(licence).licence != "public domain"


def test_a_credit_keeps_the_sources_own_words():
    assert credited("PD-USGov-NASA") == "public domain (as the source states: PD-USGov-NASA)"
    assert credited("Creative Commons Attribution 4.0") == "CC BY 4.0 (as the source states: Creative Commons Attribution 4.0)"
    assert credited("CC BY 4.0") == "CC BY 4.0" and credited("Public domain") == "public domain"
    assert credited("", library="pexels") == "Pexels licence"
