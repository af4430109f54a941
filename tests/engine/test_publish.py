"""Publishing a finished video uses the preset as it was when the video was made, not as its file is now."""

from __future__ import annotations

import json
from pathlib import Path

from engine.config import load_settings
from engine.models import JobRequest
from engine.publish import publish, video_meta
from engine.runner import make
from engine.youtube import YouTube
from tests.youtube_http import RecordingSequence

CHANNEL = 'name = "channel"\ndescription = "a channel"\nextends = "science"\n[youtube]\n'


def _ok(payload: object) -> tuple[dict, str]:
    return {"status": "200"}, json.dumps(payload)


def test_a_preset_edited_after_the_video_was_made_changes_nothing_it_is_published_with(tmp_path: Path, short_script: Path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "channel.toml").write_text(CHANNEL + 'category = "28"\ntags = ["as-made"]\n')
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", presets_dir=presets)
    made = make(JobRequest(topic="Night Train", preset="channel", script_file=short_script, exports=("youtube",)), settings)
    # Afterwards the channel's owner edits the preset: another category, other tags, made for kids.
    (presets / "channel.toml").write_text(CHANNEL + 'category = "24"\ntags = ["edited"]\nmade_for_kids = true\n')
    http = RecordingSequence([
        ({"status": "200", "location": "https://upload.example/session/1"}, ""),
        _ok({"id": "vid9", "status": {"privacyStatus": "private"}}),
        _ok({"id": "caption9"}),
        _ok({"kind": "youtube#thumbnailSetResponse", "items": []}),
    ])
    publish(made.folder, settings, YouTube.connect(settings, http=http), "private")
    snippet, status = (json.loads(http.sent[0][2])[part] for part in ("snippet", "status"))
    assert snippet["categoryId"] == "28" and "as-made" in snippet["tags"] and "edited" not in snippet["tags"]
    assert status["selfDeclaredMadeForKids"] is False
    (presets / "channel.toml").unlink()  # even with the preset gone, the video knows what it was made with
    assert video_meta(made.folder, settings, "private").category == "28"


def _youtube_would_show(lines: list[str], duration: float) -> bool:
    """YouTube's rules for chapters in a description: first at 00:00, three or more, each at least 10 s."""
    def seconds(stamp: str) -> int:
        total = 0
        for part in stamp.split(":"):
            total = total * 60 + int(part)
        return total

    starts = [seconds(line.split(" ", 1)[0]) for line in lines]
    ends = [*starts[1:], duration]
    return bool(starts) and starts[0] == 0 and len(starts) >= 3 and all(e - s >= 10 for s, e in zip(starts, ends))


def test_the_chapter_list_keeps_youtubes_rules_or_is_left_out():
    from engine.publish import chapter_list
    from engine.records import ChapterRecord

    def chapters(*starts: float) -> list[ChapterRecord]:
        ends = [*starts[1:], 4000.0]
        return [ChapterRecord(title=f"Part {k}", start=s, end=e) for k, (s, e) in enumerate(zip(starts, ends))]

    lines = chapter_list(chapters(0.3, 5.0, 40.0, 95.5, 3700.0), 3800.0)
    assert lines == ["00:00 Part 0", "00:40 Part 2", "01:35 Part 3", "1:01:40 Part 4"]
    assert _youtube_would_show(lines, 3800.0)
    assert chapter_list(chapters(0.0, 30.0), 60.0) == []  # two chapters: YouTube shows none
    assert chapter_list(chapters(0.0, 30.0, 55.0), 60.0) == []  # the last one only 5 s long
