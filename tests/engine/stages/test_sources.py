"""Real pictures through the chain of sources: the licence gate, relevance, no picture twice, the next source."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cache import Cache
from engine.models import Scene, Shot
from engine.presets import load_preset
from engine.licences import judge
from engine.stages.relevance import KeywordRelevance, ShotText
from engine.stages.sources import SourceChain, pick_pictures, shot_text
from engine.stock import (CommonsSource, NasaSource, OpenverseSource, PexelsSource, PexelsVideoSource, PixabaySource,
                          PixabayVideoSource, SourceError, http_client)
from tests.picture_servers import Item, PictureServers

LENINGRAD = [
    Item("commons", "nc", "Leningrad siege bread queue", "Queue for bread in Leningrad", "Boris", "CC BY-NC 4.0"),
    Item("commons", "nd", "Leningrad siege street", "A street of Leningrad in the siege", "Vera", "CC BY-ND 2.0"),
    Item("commons", "unknown", "Leningrad siege snow", "Leningrad siege, snow and ruins", "Anon", ""),
    Item("commons", "sa", "Leningrad siege convoy", "Trucks of the Leningrad convoy on Ladoga ice", "Ivan", "CC BY-SA 4.0"),
    Item("commons", "pd", "Ladoga ice road 1942", "Trucks crossing Lake Ladoga on the ice road", "Unknown", "Public domain"),
    Item("commons", "by", "Leningrad siege memorial", "Memorial to the siege of Leningrad", "Olga", "CC BY 4.0"),
    Item("commons", "small", "Leningrad siege tiny", "Leningrad siege memorial, small", "Petr", "CC0", width=640, height=400),
    Item("openverse", "ov", "Frozen Ladoga lake", "frozen lake ladoga winter trucks", "Nina", "by 2.0"),
    Item("nasa", "apollo", "Apollo 11 lunar module", "The Apollo 11 lunar module on the Moon", "Neil Armstrong", ""),
]


@pytest.fixture
def archives():
    servers = PictureServers(items=list(LENINGRAD))
    servers.start()
    yield servers
    servers.stop()


def _scene(index: int, narration: str, prompt: str) -> Scene:
    return Scene(index, narration, prompt, "calm")


def _chain(servers: PictureServers, tmp_path: Path, names: tuple[str, ...], share_alike: bool = False) -> SourceChain:
    client = http_client()
    made = {"commons": CommonsSource(f"{servers.url}/w/api.php", client), "openverse": OpenverseSource(servers.url, client),
            "nasa": NasaSource(servers.url, client), "pexels-video": PexelsVideoSource(servers.url, client, servers.key),
            "pixabay-video": PixabayVideoSource(servers.url, client, servers.key)}
    return SourceChain([made[n] for n in names], Cache(tmp_path / "cache"), share_alike, client)


def test_only_licences_a_monetised_channel_may_use_get_through_and_none_twice(archives, tmp_path: Path):
    preset = load_preset("military-history", None)
    scenes = {k: _scene(k, "In 1942 the siege of Leningrad went on. Trucks crossed Lake Ladoga on the ice.",
                        "trucks on the ice of Ladoga") for k in range(4)}
    shots = tuple(Shot(k, k, k * 5.0, k * 5.0 + 5, scenes[k].image_prompt, "zoom_in", "calm") for k in range(4))
    picked = pick_pictures(shots, scenes, preset, "Siege of Leningrad", _chain(archives, tmp_path, ("commons", "openverse")))
    names = [Path(path).name for path, _ in picked.values()]
    credits = [credit for _, credit in picked.values()]
    # The memorial (CC BY) shares only "Leningrad" with the shots: not relevant enough.
    assert {c.title for c in credits} == {"Ladoga ice road 1942", "Frozen Ladoga lake"}
    assert len(names) == len(set(c.page for c in credits)) == 2  # no picture twice; the other two shots are painted
    assert [c.source for c in credits].count("openverse") == 1  # what commons lacked came from the next source
    assert all(c.licence in ("public domain", "CC BY 2.0") and c.author for c in credits)
    assert next(c for c in credits if c.source == "openverse").reason == "attribution: used, and credited"


def test_share_alike_is_used_where_the_preset_allows_it(archives, tmp_path: Path):
    preset = load_preset("military-history", None)
    scene = _scene(0, "The Leningrad convoy crossed.", "convoy trucks")
    shots = tuple(Shot(k, 0, k * 5.0, k * 5.0 + 5, "convoy trucks", "zoom_in", "calm") for k in range(4))
    picked = pick_pictures(shots, {0: scene}, preset, "Siege of Leningrad",
                           _chain(archives, tmp_path, ("commons",), share_alike=True))
    assert "CC BY-SA 4.0" in {credit.licence for _, credit in picked.values()}


def test_nasa_pictures_are_public_domain_unless_a_copyright_holder_is_named(archives, tmp_path: Path):
    archives.items.append(Item("nasa", "owned", "Apollo 11 crew portrait", "Apollo 11 crew © Life magazine", "Life", ""))
    preset = load_preset("science", None)
    scene = _scene(0, "In 1969 Apollo 11 landed on the Moon.", "lunar module on the Moon")
    shots = tuple(Shot(k, 0, k * 5.0, k * 5.0 + 5, scene.image_prompt, "zoom_in", "calm") for k in range(2))
    picked = pick_pictures(shots, {0: scene}, preset, "Apollo 11", _chain(archives, tmp_path, ("nasa",)))
    assert [c.title for _, c in picked.values()] == ["Apollo 11 lunar module"]
    assert next(iter(picked.values()))[1].licence == "public domain"


def test_a_query_is_names_places_dates_and_the_subject_not_the_presets_style():
    preset = load_preset("military-history", None)
    scene = _scene(0, "In the winter of 1941 the convoy left Leningrad for Lake Ladoga.",
                   f"{preset.images.prompt_prefix} trucks on the frozen lake {preset.images.prompt_suffix}")
    text = shot_text(scene, preset, "Siege of Leningrad")
    assert text.query.split()[:4] == ["Leningrad", "Lake", "Ladoga", "1941"] and "sepia" not in text.query
    assert text.meaning.startswith("In the winter of 1941") and "sepia" not in text.meaning
    [[score]] = KeywordRelevance().scores([ShotText("Ladoga trucks moon", "")], [["Lake Ladoga. trucks on the ice"]])
    assert score == pytest.approx(2 / 3)


def test_a_rerun_with_the_archives_down_finds_the_same_pictures_in_the_cache(archives, tmp_path: Path):
    preset = load_preset("military-history", None)
    scene = _scene(0, "Trucks crossed Lake Ladoga on the ice road.", "ice road trucks")
    shots = (Shot(0, 0, 0.0, 5.0, "ice road trucks", "zoom_in", "calm"),)
    first = pick_pictures(shots, {0: scene}, preset, "Siege of Leningrad", _chain(archives, tmp_path, ("commons",)))
    archives.down = True
    again = pick_pictures(shots, {0: scene}, preset, "Siege of Leningrad", _chain(archives, tmp_path, ("commons",)))
    assert again == first and first


def test_an_archive_that_keeps_failing_is_skipped_for_the_rest_of_the_job(archives, tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setattr("engine.stock.time.sleep", lambda seconds: None)
    archives.down = True
    preset = load_preset("military-history", None)
    scenes = {k: _scene(k, f"Leningrad part {k}.", f"subject {k}") for k in range(5)}
    shots = tuple(Shot(k, k, k * 5.0, k * 5.0 + 5, f"subject {k}", "zoom_in", "calm") for k in range(5))
    assert pick_pictures(shots, scenes, preset, "Siege of Leningrad", _chain(archives, tmp_path, ("commons",))) == {}
    assert len(archives.requests) == 2 * 3  # two searches, three tries each, then no more
    assert caplog.text.count("keeps failing") == 1


STOCK = [
    Item("pexels", "tanks", "Tanks in the snow", "tanks snow winter", "Anna", ""),
    Item("pixabay", "ruins", "Ruins", "ruins city winter", "berlin_foto", ""),
    Item("pexels-video", "convoy", "Trucks convoy on ice", "trucks convoy ice", "Mark", "", width=1920, height=1080, seconds=3),
    Item("pixabay-video", "snowfall", "Snowfall", "snowfall winter trucks", "motionstock", "", width=1920, height=1080, seconds=1),
]


def test_the_stock_libraries_answer_photos_and_clips_with_their_own_licence_and_need_their_key(archives, tmp_path: Path):
    archives.items[:] = STOCK
    client = http_client()
    [photo] = PexelsSource(archives.url, client, archives.key).search("tanks winter")
    [picture] = PixabaySource(archives.url, client, archives.key).search("ruins")
    [clip] = PexelsVideoSource(archives.url, client, archives.key).search("convoy")
    [film] = PixabayVideoSource(archives.url, client, archives.key).search("snowfall")
    assert (photo.author, photo.licence, photo.footage) == ("Anna", "Pexels licence", False)
    assert (picture.author, picture.licence) == ("berlin_foto", "Pixabay licence")
    # The HD rendition, not the SD one; a Pexels video's words come from its page's slug.
    assert (clip.width, clip.seconds, clip.title, clip.url.endswith("/convoy.mp4")) == (1920, 3.0, "trucks convoy on ice", True)
    assert (film.width, film.seconds, film.footage, film.library) == (1920, 1.0, True, "pixabay")
    with pytest.raises(SourceError, match="401"):
        PexelsVideoSource(archives.url, client, "revoked").search("convoy")
    with pytest.raises(SourceError, match="400"):
        PixabayVideoSource(archives.url, client, "revoked").search("snowfall")


def test_a_clip_long_enough_becomes_a_shot_of_the_right_length_muted_and_cropped(archives, tmp_path: Path):
    from engine.media import probe
    from engine.stages.sources import finished_footage

    archives.items[:] = STOCK
    preset = load_preset("military-history", None)
    scene = _scene(0, "The convoy of trucks crossed the ice in winter.", "trucks convoy on the ice")
    # Shot 0 lasts 4 s: the 3-s Pexels clip fits (played slower); the 1-s Pixabay clip is too short for shot 1's 4 s.
    shots = tuple(Shot(k, 0, k * 4.0, k * 4.0 + 4, scene.image_prompt, "zoom_in", "calm") for k in range(2))
    picked = pick_pictures(shots, {0: scene}, preset, "Ice road",
                           _chain(archives, tmp_path, ("pexels-video", "pixabay-video")))
    assert list(picked) == [0] and picked[0][1].footage and picked[0][1].source == "pexels-video"
    still = finished_footage(0, picked[0][0], 4.5, 30, "pexels-video", preset, Cache(tmp_path / "cache"))
    info = probe(still.path)
    assert (info.width, info.height, info.audio_codec) == (1920, 1080, None)
    assert info.duration == pytest.approx(4.5, abs=0.1)
    assert still.image.suffix == ".png" and still.image.is_file()


def test_the_image_text_model_chooses_among_the_pictures_the_words_let_through(archives, tmp_path: Path, tiny_clip):
    from engine.stages.relevance import ClipRanker, clip_similarities

    archives.items[:] = [Item("commons", f"convoy{k}", f"Ladoga ice road convoy {k}", "Trucks crossing Lake Ladoga "
                              "on the ice road", "Ivan", "CC BY 4.0", width=1600 + 100 * k) for k in range(3)]
    preset = load_preset("military-history", None)
    scene = _scene(0, "Trucks crossed Lake Ladoga on the ice road.", "trucks on the ice road")
    shots = (Shot(0, 0, 0.0, 5.0, scene.image_prompt, "zoom_in", "calm"),)
    chain = _chain(archives, tmp_path, ("commons",))
    chain.pictures = ClipRanker(str(tiny_clip))
    [(path, credit)] = pick_pictures(shots, {0: scene}, preset, "Ice road", chain).values()
    downloaded = {c.url: chain.download(c) for c in chain.search(chain.sources[0], shot_text(scene, preset, "x").query)}
    looked = clip_similarities(str(tiny_clip), [shot_text(scene, preset, "Ice road").meaning], [list(downloaded.values())])[0]
    best = max(zip(looked, downloaded), key=lambda pair: pair[0])[1]
    by_words = chain.relevance.scores([shot_text(scene, preset, "Ice road")], [[
        f"{i.title}. {i.description}" for i in archives.items]])[0]
    assert len(set(by_words)) == 1 and not best.endswith("/convoy2.jpg")  # the words' first would be the last listed
    assert credit.url == best and path == downloaded[best]  # the model's favourite of the three, not the words'


def test_commons_pictures_with_restrictions_are_left_out_and_attribution_is_read(archives, tmp_path: Path):
    """L2: personality rights or a trademark are not cleared by a free licence; AttributionRequired is read."""
    archives.items[:] = [
        Item("commons", "face", "Ladoga ice road driver", "Driver on the Ladoga ice road", "Ann", "CC BY 4.0",
             restrictions="personality"),
        Item("commons", "logo", "Ladoga ice road sign", "Sign of the Ladoga ice road", "Bo", "CC0",
             restrictions="trademarked"),
        Item("commons", "free", "Ladoga ice road trucks", "Trucks on the Ladoga ice road", "Cy", "Public domain",
             attribution_required="false"),
    ]
    found = CommonsSource(f"{archives.url}/w/api.php", http_client()).search("Ladoga ice road")
    assert [c.title for c in found] == ["Ladoga ice road trucks"] and not found[0].attribution_required


def test_nasa_credits_to_others_are_refused_and_the_picture_comes_from_the_asset_manifest(archives, tmp_path: Path):
    """L3: ESA/Hubble, Getty Images and other third parties are not NASA's public domain; the address is read."""
    archives.items[:] = [
        Item("nasa", "hubble", "Pillars of creation", "Pillars of creation in the Eagle nebula", "",
             "", secondary_creator="ESA/Hubble & NASA"),
        Item("nasa", "getty", "Pillars of creation crowd", "Pillars of creation viewers. Credit: Getty Images", "", ""),
        Item("nasa", "jwst", "Pillars of creation infrared", "Pillars of creation seen in infrared", "NASA/JPL-Caltech",
             "", renditions=("orig", "medium", "thumb")),
    ]
    found = NasaSource(archives.url, http_client()).search("Pillars of creation")
    verdicts = {c.title: judge(c.licence) for c in found}
    assert [title for title, verdict in verdicts.items() if verdict.allowed] == ["Pillars of creation infrared"]
    assert "ESA/Hubble" in found[0].licence and not verdicts["Pillars of creation crowd"].allowed
    picked = next(c for c in found if c.title == "Pillars of creation infrared")
    assert picked.url.endswith("/jwst~medium.jpg")  # no ~large in its manifest: not guessed
    assert any(path == "/asset/jwst" for path in archives.requests)
    assert not any(path.startswith(("/asset/hubble", "/asset/getty")) for path in archives.requests)


def test_the_user_agent_carries_the_operators_contact(archives):
    """L5: Wikimedia's User-Agent policy asks for a way to reach the operator."""
    CommonsSource(f"{archives.url}/w/api.php", http_client("factory@example.net")).search("Leningrad")
    CommonsSource(f"{archives.url}/w/api.php", http_client()).search("Leningrad")
    assert archives.agents[0].startswith("VideoFactory/") and "factory@example.net" in archives.agents[0]
    assert "example.org" not in archives.agents[1]  # no made-up address when none is set
