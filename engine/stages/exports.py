"""Exports stage: the video again in the shapes short-form platforms want, laid out for them.

Each export is rendered from the cached timeline, pictures and narration (never by re-encoding
the master): pictures recomposed for the aspect, captions re-flowed into the platform's safe area
(2-4 word captions on vertical video), and for the platforms with a length limit a short version
that starts with the hook and ends on a full sentence, with the music fitted to the new length.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from engine.cache import Cache, cache_key, file_digest, translate_os_errors
from engine.errors import InputError
from engine.media import read_wav_span, wav_info, write_wav
from engine.models import CaptionKind, Shot, Timeline, Word
from engine.presets import Preset
from engine.stages import captions, music, render
from engine.stages.images import Still, cover
from engine.text import slugify

VERSION = 1
SENTENCE_END = (".", "!", "?", "…")
TAIL = 0.5  # seconds of air after the last word of a short version
MIN_LAST_SHOT = 1.0  # a last shot cut shorter than this joins the shot before it


@dataclass(frozen=True)
class ExportProfile:
    """One platform's frame, length limit, caption style and encoder quality."""

    name: str
    width: int
    height: int
    max_seconds: float | None
    crf: int = 23
    layout: str = "crop"  # "crop": cover the frame; "blur": the whole picture over a blurred fill of itself

    @property
    def vertical(self) -> bool:
        """Taller than wide."""
        return self.height > self.width


PROFILES: dict[str, ExportProfile] = {
    "youtube": ExportProfile("youtube", 1920, 1080, None),
    "shorts": ExportProfile("shorts", 1080, 1920, 60.0, layout="blur"),
    "tiktok": ExportProfile("tiktok", 1080, 1920, 60.0, layout="blur"),
    "reels": ExportProfile("reels", 1080, 1920, 60.0, layout="blur"),
    "feed": ExportProfile("feed", 1080, 1350, None, layout="blur"),
    "square": ExportProfile("square", 1080, 1080, None),
}


def profile_for(name: str, max_seconds: dict[str, float]) -> ExportProfile:
    """The named profile, with its length limit changed where the configuration says so (0: no limit)."""
    profile = PROFILES[name]
    if name in max_seconds:
        limit = max_seconds[name]
        profile = replace(profile, max_seconds=limit if limit > 0 else None)
    return profile


def parse_exports(text: str) -> tuple[str, ...]:
    """Profile names from "shorts,tiktok,square"; an unknown one is an InputError naming the known ones."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in PROFILES]
    if unknown or not names:
        raise InputError(f"unknown export '{', '.join(unknown) or text}'; known: {', '.join(PROFILES)}")
    return names


def short_cut(words: tuple[Word, ...], duration: float, limit: float | None) -> float:
    """Where a version limited to `limit` seconds ends: after the last sentence that fits, never inside a word."""
    if limit is None or duration <= limit:
        return duration
    ends: list[tuple[float, bool]] = []
    for i, word in enumerate(words):
        following = words[i + 1].start if i + 1 < len(words) else duration
        end = min(word.end + TAIL, following)  # a little air, but never into the next word
        if end > limit:
            break
        ends.append((end, word.text.rstrip("\"'”»)").endswith(SENTENCE_END)))
    sentences = [end for end, full in ends if full]
    if sentences:
        return sentences[-1]
    if ends:  # not one sentence fits: the last word that does
        return ends[-1][0]
    raise InputError(f"not even the first word of the narration fits in {limit:.0f} s")


def cut_timeline(plan: Timeline, end: float) -> Timeline:
    """The timeline up to `end`: later shots dropped, the last one trimmed (or merged if it became a flash)."""
    shots: list[Shot] = []
    for shot in plan.shots:
        if shot.start >= end:
            break
        shots.append(replace(shot, end=min(shot.end, end)))
    if len(shots) > 1 and shots[-1].end - shots[-1].start < MIN_LAST_SHOT:
        shots.pop()
        shots[-1] = replace(shots[-1], end=end)
    shots[-1] = replace(shots[-1], end=end)
    spans = tuple((s, min(e, end)) for s, e in plan.scene_spans if s < end)
    return Timeline(duration=end, scene_spans=spans, shots=tuple(shots))


def window(plan: Timeline, words: tuple[Word, ...], start: float, stop: float) -> tuple[Timeline, tuple[Word, ...]]:
    """The timeline and words between `start` and `stop` (a chapter), timed from `start`."""
    shots = [replace(shot, start=max(shot.start, start) - start, end=min(shot.end, stop) - start)
             for shot in plan.shots if shot.end > start and shot.start < stop]
    spans = tuple((max(s, start) - start, min(e, stop) - start) for s, e in plan.scene_spans if e > start and s < stop)
    kept = tuple(replace(w, start=w.start - start, end=w.end - start) for w in words if start <= w.start < stop)
    return Timeline(duration=stop - start, scene_spans=spans, shots=tuple(shots)), kept


def recompose(still: Path, profile: ExportProfile, cache: Cache) -> Path:
    """A picture laid out for the profile's frame (cached per picture and layout); a clip is cropped by the render."""
    if render.is_footage(still):
        return still
    key = cache_key("exports.still", VERSION, {"still": file_digest(still), "size": [profile.width, profile.height],
                                               "layout": profile.layout})

    def compute(folder: Path) -> Still:
        size = (profile.width, profile.height)
        with Image.open(still) as opened:
            picture = opened.convert("RGB")
        if profile.layout == "blur":
            fill = cover(picture, size).filter(ImageFilter.GaussianBlur(40))
            canvas = ImageEnhance.Brightness(fill).enhance(0.55)
            scale = min(size[0] / picture.width, size[1] / picture.height)
            fitted = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.LANCZOS)
            # A little above the centre: the captions sit below it, clear of the bottom overlays.
            top = (size[1] - fitted.height) // 2 - size[1] // 12
            canvas.paste(fitted, ((size[0] - fitted.width) // 2, max(0, top)))
        else:
            canvas = cover(picture, size)
        out = folder / "still.png"
        with translate_os_errors(str(out)):
            canvas.save(out, "PNG", compress_level=1)
        return Still(0, out, profile.layout)

    made, _ = cache.remember(key, Still, compute)
    return made.path


def _narration_until(narration: Path, end: float, out: Path, start: float = 0.0) -> Path:
    rate = wav_info(narration).rate
    part = read_wav_span(narration, int(start * rate), int((start + end) * rate))  # only the cut's own length is read
    fade = min(len(part), int(0.15 * rate))
    if fade:
        part[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    write_wav(out, part, rate)
    return out


def render_export(
    profile: ExportProfile, plan: Timeline, words: tuple[Word, ...], narration: Path, master_audio: Path,
    stills: dict[int, Path],
    preset: Preset, caption_kind: CaptionKind, source: music.MusicSource, options: render.RenderOptions,
    cache: Cache, work: Path, out: Path, chapter: tuple[float, float] | None = None,
) -> Path:
    """Render one export of the job into `out`; an export at full length reuses the job's mastered audio.

    With `chapter` (its start and end), the export is that chapter alone, cut to the profile's length.
    """
    offset = chapter[0] if chapter else 0.0
    if chapter:
        plan, words = window(plan, words, *chapter)
    end = short_cut(words, plan.duration, profile.max_seconds)
    timeline = cut_timeline(plan, end) if end < plan.duration else plan
    kept = tuple(w for w in words if w.end <= end + 1e-6)
    kind: CaptionKind = "short" if profile.vertical else caption_kind
    cues = captions.build_cues(kept, captions.rules_for(kind, preset.captions))
    subs = captions.subtitle_file(cues, preset.captions, profile.width, profile.height, kind)
    master = master_audio
    if end < plan.duration or chapter:  # a cut needs its own mix: music fitted to the new length, loudness set again
        voice = _narration_until(narration, end, work / f"{profile.name}-narration.wav", offset)
        segments = music.mood_segments(timeline, min(preset.music.min_segment_seconds, end / 2))
        mix = music.mix_music(voice, segments, preset.music, source, work / f"{profile.name}-mix.f32")
        master = music.master_mix(mix, preset.music, music.AAC_PEAK_MARGIN_DB, work / f"{profile.name}-master.wav")
    laid_out = {shot.index: recompose(stills[shot.index], profile, cache) for shot in timeline.shots}
    frame = replace(options, width=profile.width, height=profile.height, crf=profile.crf)
    parts = render.plan_segments(timeline, frame.fps, preset.effects.transition)
    return render.render_master(parts, laid_out, subs, master, preset.effects, frame, cache, out)


def export_name(profile: ExportProfile, chapter: int | None = None, title: str = "") -> str:
    """The file name of an export; a chapter's is numbered and named after the chapter."""
    if chapter is None:
        return f"{profile.name}-{profile.width}x{profile.height}.mp4"
    return f"{profile.name}-{chapter + 1:02d}-{slugify(title)[:60] or 'chapter'}.mp4"


def chapter_description(chapter: str, video_title: str) -> str:
    """The text a chapter's short is published with: its chapter and the long video it comes from."""
    return f"{chapter}\n\nFrom the full video: {video_title}\n"
