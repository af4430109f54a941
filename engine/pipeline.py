"""The orchestrator: `make_video` reads as the list of stages it runs; each stage is a small function below."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine import __version__, backends, review, voices
from engine.cache import Cache, atomic_write_text, check_writable
from engine.config import Settings
from engine.errors import BackendError, ConfigError, InputError, MediaError, VideoFactoryError
from engine.fonts import BOLD_FILE, bold_font_dir
from engine.jobs import JobPlan
from engine.media import probe
from engine.models import Artefacts, ChapterMark, JobRequest, Narration, Script, Shot, Timeline, Words
from engine.presets import Preset, VoiceStyle, load_preset
from engine.progress import ProgressHook
from engine.records import (
    CREDITS_NAME,
    MANIFEST_NAME,
    CreditRecord,
    SCRIPT_NAME,
    JobManifest,
    ManifestInputs,
    MusicRecord,
    script_document,
    write_manifest,
    write_script,
)
from engine.stages import (
    captions,
    exports,
    images,
    moods,
    longform,
    music,
    relevance,
    render,
    script,
    sources,
    thumbnails,
    timeline,
    voice,
    words,
)
from engine.store import Store, utcnow
from engine.tables import StageRun
from engine.text import printable, slugify
from engine.tokens import InferenceUnreachable, TokenPool
from engine.stock import http_client as httpx_client
from engine.voices import VoiceHub

log = logging.getLogger(__name__)


# --- checking a request before any work ---------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    """A request checked and resolved against its preset: everything a job row needs."""

    request: JobRequest
    preset: Preset
    slug: str


def check_language(code: str) -> str:
    """A language code such as "en" or "ru" that the narration can speak (espeak-ng reads it, Whisper hears it)."""
    if not re.fullmatch(r"[a-z]{2,3}", code):
        raise InputError(f"language '{code}' is not a two- or three-letter code such as en, ru or de")
    if code not in voice.spoken_languages():
        raise InputError(f"language '{code}' is not one the narrator can speak; for example en, ru, de, fr, es, it, pt, "
                         f"uk ({len(voice.spoken_languages())} languages in all)")
    return code


def prepare(request: JobRequest, settings: Settings) -> Prepared:
    """Check every input before any work starts, so bad input costs nothing; the preset's defaults filled in."""
    backends.check_configuration(settings)
    preset = load_preset(request.preset, settings.user_presets_dir)
    own_text = script.read_script_file(request.script_file) if request.script_file else None
    if own_text is not None:
        script.check_chapters(script.chapter_count(own_text))
    if request.voiceover:
        check_voiceover(request.voiceover, settings.max_voiceover_minutes * 60)
    if own_text is None and request.voiceover is None:
        topic = script.check_topic(request.topic)
    else:
        topic = " ".join(printable(request.topic).split())
        if len(topic) > script.MAX_TOPIC_CHARS:
            script.check_topic(topic)
    name = topic or (request.script_file or request.voiceover).stem  # type: ignore[union-attr]
    language = check_language(request.language or preset.language)
    monetised = request.monetised or _monetised_channel(settings, preset.youtube.channel)
    voice = request.voice or preset.voice.piper
    resolved = request.model_copy(update={
        "topic": topic, "language": language, "monetised": monetised,
        "voice": chosen_voice(voice, language, VoiceHub(settings.voices_dir), monetised),
        "length": request.length or preset.length, "minutes": wanted_minutes(request, preset),
        "caption_style": request.caption_style or preset.captions.style,
        "exports": request.exports if request.exports is not None else preset.exports,
        "script_file": request.script_file.resolve() if request.script_file else None,
        "voiceover": request.voiceover.resolve() if request.voiceover else None,
    })
    return Prepared(resolved, preset, slugify(name))


def _monetised_channel(settings: Settings, channel: str | None) -> bool:
    """Whether the preset's channel is marked monetised (`videofactory channels --monetised NAME`)."""
    if not channel:
        return False
    from engine.channels import ChannelBook
    from engine.store import open_store

    return ChannelBook(open_store(settings)).monetised(channel)


def chosen_voice(name: str, language: str, hub: VoiceHub, monetised: bool = False) -> str:
    """The job's Piper voice, fetched and checked before any work: a hub voice, a file, or the bundled one.

    The bundled English voice would read another language with an English accent: such a job gets
    that language's native voice instead (and, offline without it, one clear error naming it). A voice
    whose licence or lineage forbids commercial use is refused for a monetised channel, and warned of otherwise.
    """
    if not name:  # the language's own
        native = voices.native_voice(language)
        if native is None:
            if language != "en":
                log.warning("no native voice is known for '%s': the English voice reads it through espeak-ng",
                            language)
            name = voices.BUNDLED
        else:
            name = native
    if voices.is_catalogue_key(name):
        _commercial_or_told(hub.fetch(name, language), monetised, logging.WARNING)
    elif name == voices.BUNDLED:  # the offline default: said once per job in the log, refused where it matters
        _commercial_or_told(voices.bundled_voice(), monetised, logging.INFO)
    elif not Path(name).expanduser().is_file():
        raise InputError(f"voice '{name}' is neither a hub voice such as ru_RU-dmitri-medium, nor joe, nor a Piper "
                         ".onnx file (`videofactory voices` lists them)")
    return name


def _commercial_or_told(voice: voices.InstalledVoice, monetised: bool, level: int) -> None:
    if voice.commercial is not False:
        return
    if monetised:
        raise InputError(f"the voice {voice.key} is licensed {voice.licence_text}: not for a monetised channel; "
                         "choose a voice whose model card allows commercial use (`videofactory voices` says which), "
                         "or the kokoro voice backend")
    log.log(level, "the voice %s is licensed %s: not for a monetised channel", voice.key, voice.licence_text)


def voice_style(ctx: Context) -> VoiceStyle:
    """The preset's voice style with the job's voice, a hub voice as its file in the cache."""
    name = ctx.request.voice or ctx.preset.voice.piper or voices.BUNDLED  # jobs queued before voices were chosen
    if voices.is_catalogue_key(name):
        name = str(VoiceHub(ctx.settings.voices_dir).fetch(name, ctx.language).model)
    return ctx.preset.voice.model_copy(update={"piper": name})


def wanted_minutes(request: JobRequest, preset: Preset) -> int | None:
    """The long video's minutes: the request's, else the preset's unless the request names a length; None: not long."""
    minutes = request.minutes if request.minutes is not None else None if request.length else preset.minutes
    if minutes is None:
        return None
    if not 1 <= minutes <= longform.MAX_MINUTES:
        raise InputError(f"--minutes is {minutes}; a video of 1 to {longform.MAX_MINUTES} minutes can be made")
    if request.script_file or request.voiceover:
        if request.minutes is not None:
            log.warning("--minutes was ignored: %s keeps its own length",
                        "your script file" if request.script_file else "your voice-over")
        return None
    return minutes


def check_voiceover(path: Path, max_seconds: float) -> None:
    """A voice-over file that exists, reads as audio and is not over the limit (from its header: nothing decoded)."""
    if not path.is_file():
        raise InputError(f"voice-over file {path} does not exist")
    try:
        seconds = probe(path).duration
    except MediaError:
        raise InputError(f"cannot decode audio file {path}: it is corrupt or not audio") from None
    if seconds > max_seconds:
        raise InputError(f"voice-over file {path}: {voice.voiceover_too_long(seconds, max_seconds)}")


# --- bookkeeping of one run -----------------------------------------------------------------------------

class StageHandle:
    """One running stage: counts items (cached or computed) in the database as they finish."""

    def __init__(self, store: Store, row: StageRun, progress: ProgressHook) -> None:
        self._store, self.row, self._progress = store, row, progress
        self._lock = threading.Lock()

    def derived(self) -> None:
        """The stage's one item was derived in memory from what earlier stages made (a text split, a timeline):
        neither computed work nor a cache answer, so a resumed job that derives it again redid nothing."""
        self._progress.advanced(self.row.stage, 1)

    def cached_unless(self, cache: Cache, made_before: int) -> None:
        """One item, computed if `cache` made an entry since it counted `made_before`, else from the cache."""
        self.item(cached=cache.made == made_before)

    def item(self, cached: bool) -> None:
        """One item finished; saved at once so a kill cannot lose the count."""
        with self._lock:
            if cached:
                self.row.items_cached += 1
            else:
                self.row.items_computed += 1
            self.row = self._store.add(self.row)  # type: ignore[assignment]
            self._progress.advanced(self.row.stage, self.row.items_cached + self.row.items_computed)


@dataclass
class JobRun:
    """Bookkeeping of one run of a job: its stage rows and per-stage seconds."""

    store: Store
    job_id: int
    progress: ProgressHook
    seconds: dict[str, float] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, backend: str, total: float = 1, unit: str = "step") -> Iterator[StageHandle]:
        """Record a stage in the database and the progress hook, with its outcome and timing."""
        row = self.store.add(StageRun(job_id=self.job_id, stage=name, backend=backend, items_total=int(total)))
        handle = StageHandle(self.store, row, self.progress)  # type: ignore[arg-type]
        self.progress.started(name, total, unit)
        began = time.perf_counter()
        try:
            yield handle
        except BaseException as error:
            handle.row.outcome, handle.row.error = "failed", describe(error)
            handle.row.finished = utcnow()
            self.store.add(handle.row)
            raise
        handle.row.outcome, handle.row.finished = "done", utcnow()
        handle.row.cache_hit = handle.row.items_computed == 0
        self.store.add(handle.row)
        self.seconds[name] = round(time.perf_counter() - began, 3)
        self.backends[name] = handle.row.backend
        log.info("%s: %s, %d computed, %d from the cache, %.1f s", name, handle.row.backend,
                 handle.row.items_computed, handle.row.items_cached, self.seconds[name])
        self.progress.finished(name)


def describe(error: BaseException) -> str:
    """An error in one line: ours as written, anything else with its type."""
    if isinstance(error, VideoFactoryError):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class Context:
    """What every stage of one run may use: the plan, the settings, the cache and the run's bookkeeping."""

    plan: JobPlan
    settings: Settings
    cache: Cache
    run: JobRun
    pool: TokenPool | None
    helpers: render.SegmentHelpers | None = None  # other workers that may render segments (jobs on a queue)

    @property
    def preset(self) -> Preset:
        """The preset as it was when the job was made."""
        return self.plan.preset

    @property
    def request(self) -> JobRequest:
        """The resolved request."""
        return self.plan.request

    @property
    def language(self) -> str:
        """The narration's language (jobs made before requests were resolved may leave it to the preset)."""
        return self.plan.request.language or self.plan.preset.language

    @property
    def caption_kind(self) -> str:
        """The burned-in caption style."""
        return self.plan.request.caption_style or self.plan.preset.captions.style


# --- the pipeline ---------------------------------------------------------------------------------------

def make_video(plan: JobPlan, settings: Settings, store: Store, progress: ProgressHook,
               helpers: render.SegmentHelpers | None = None) -> Artefacts:
    """Run every stage of one job and leave its artefacts in the job's own folder."""
    for folder in (plan.folder, settings.data_dir, plan.work):
        check_writable(folder)
    began = time.perf_counter()
    ctx = Context(plan, settings, Cache(settings.cache_dir, read=not plan.fresh), JobRun(store, plan.job_id, progress),
                  backends.checked_pool(settings, store), helpers)
    the_script, narration, timed = write_and_narrate(ctx)
    layout = lay_out(ctx, the_script, timed, narration)
    marks = timeline.chapter_marks(the_script, layout)
    stills, credits = paint(ctx, layout, the_script)
    wanted = ctx.request.review if ctx.request.review is not None else ctx.preset.images.review
    if wanted and not ctx.request.reviewed:
        ask_for_review(ctx, stills, credits)
    soundtrack = score(ctx, layout, narration)
    options = render_options(settings)
    subs, subtitle_paths = caption(ctx, timed, options, cards_of(ctx, the_script, layout, marks, credits))
    video = render_master(ctx, layout, stills, subs, soundtrack, options)
    thumbs = design_thumbnails(ctx, the_script, layout, stills, options)
    progress.ready("thumbnails", thumbs)
    progress.ready("video", (video,))
    made = render_exports(ctx, Cut(layout, timed, narration, soundtrack, stills, the_script.title, marks), options)
    write_records(ctx, the_script, layout, soundtrack, stills, (video, *subtitle_paths, *thumbs, *made), marks,
                  credits)
    log.info("job %s done in %.1f s", plan.folder.name, time.perf_counter() - began)
    return Artefacts(plan.folder, video, subtitle_paths, thumbs, plan.folder / SCRIPT_NAME, plan.folder / MANIFEST_NAME,
                     tuple(made), round(layout.duration, 3))


def write_and_narrate(ctx: Context) -> tuple[Script, Narration, Words]:
    """The script with its moods, its narration and the words' times.

    The speech models these need (Whisper, Piper) belong to this call alone: they are freed when
    it returns, before the pictures, the music and the render need the memory.
    """
    settings = ctx.settings
    recognizer = words.make_recognizer(settings.asr_backend, settings.whisper_model, ctx.language, settings.data_dir,
                                       settings.whisper_threads)
    the_script = write_the_script(ctx, recognizer)
    the_script = choose_moods(ctx, the_script)
    narration, reader = speak(ctx, the_script)
    return the_script, narration, time_the_words(ctx, the_script, narration, recognizer, reader)


def write_the_script(ctx: Context, recognizer: words.Recognizer) -> Script:
    """The script: the user's text, the transcript of their voice-over, the language model's, or the outline."""
    request, preset = ctx.request, ctx.preset
    length = request.length or preset.length
    use_llm = backends.uses_llm(ctx.settings, ctx.pool) and not (request.script_file or request.voiceover)
    own_text = script.read_script_file(request.script_file) if request.script_file else None
    if own_text is not None:
        script.check_chapters(script.chapter_count(own_text))
    title = request.topic or (request.script_file or request.voiceover or Path("video")).stem
    with ctx.run.stage("script", "own-text" if own_text else "llm" if use_llm else "outline") as stage:
        made_before = ctx.cache.made
        if own_text is not None:
            written = script.text_script(own_text, title, preset)
        elif request.voiceover:
            narration = voice.import_voiceover(request.voiceover, ctx.cache, ctx.settings.max_voiceover_minutes * 60)
            written = transcript_script(narration, ctx.language, recognizer, ctx.cache, title, preset)
        elif use_llm:
            written = backends.llm_script(request.topic, preset, length, ctx.pool, ctx.settings, ctx.cache,  # type: ignore[arg-type]
                                          request.minutes)
        else:
            written = script.outline_script(request.topic, preset, length, request.minutes)
        stage.row.backend = written.source
        if own_text is not None or not (use_llm or request.voiceover):
            stage.derived()  # split from the user's text, or grown from the outline bank: milliseconds
        else:
            stage.cached_unless(ctx.cache, made_before)
    return replace(written, language=ctx.language)


def choose_moods(ctx: Context, the_script: Script) -> Script:
    """Each scene's mood, from its narration or the preset's sections."""
    classifier = moods.make_mood_classifier(ctx.settings.mood_backend)
    with ctx.run.stage("moods", classifier.name) as stage:
        made_before = ctx.cache.made
        the_script = moods.assign_moods(the_script, classifier, ctx.preset.music.moods, ctx.cache)
        stage.cached_unless(ctx.cache, made_before)
    return the_script  # the classifier (an embedding model) is freed here, before the memory-hungry stages


def speak(ctx: Context, the_script: Script) -> tuple[Narration, voice.Voice]:
    """The narration: our voice reading every scene, or the user's voice-over; and our reader, for timing."""
    # Our own voice reads the script: it narrates, or it is the template a voice-over is timed against.
    style = voice_style(ctx)
    reader = voice.make_voice("piper", style, the_script.language)
    if ctx.request.voiceover:
        with ctx.run.stage("voice", "voiceover") as stage:
            narration = voice.import_voiceover(ctx.request.voiceover, ctx.cache, ctx.settings.max_voiceover_minutes * 60)
            stage.item(cached=True)
        return narration, reader
    with ctx.run.stage("voice", style.backend, total=len(the_script.scenes), unit="scene") as stage:
        try:
            narrator = reader if style.backend == "piper" else backends.voice_backend(style, the_script.language,
                                                                                       ctx.settings)
            narration = voice.narrate(the_script, narrator, ctx.cache, ctx.plan.work / "narration.wav", stage.item,
                                      style.scene_pause)
        except (BackendError, InputError, ConfigError) as error:
            if style.backend == "piper":
                raise
            # Another voice that fails (a service down, weights not here) never fails the job: Piper reads all of it.
            log.warning("the %s voice failed (%s); Piper reads the narration instead", style.backend, error)
            stage.row.backend = reader.name
            narration = voice.narrate(the_script, reader, ctx.cache, ctx.plan.work / "narration.wav", stage.item,
                                      style.scene_pause)
    return narration, reader


def time_the_words(ctx: Context, the_script: Script, narration: Narration, recognizer: words.Recognizer,
                   reader: voice.Voice) -> Words:
    """Every word's time in the narration, spelled as the script spells it."""
    with ctx.run.stage("words", recognizer.name) as stage:
        made_before = ctx.cache.made
        timed = words.time_words(the_script, narration, ctx.settings.words_backend, recognizer, ctx.cache, reader)
        stage.row.backend = timed.backend
        if timed.backend.endswith("-alignment"):
            stage.derived()  # our voice's own word times, read off the narration
        else:
            stage.cached_unless(ctx.cache, made_before)
    return timed


def lay_out(ctx: Context, the_script: Script, timed: Words, narration: Narration) -> Timeline:
    """Scene and shot times from where the words are spoken."""
    with ctx.run.stage("timeline", "words") as stage:
        plan = timeline.build_timeline(the_script, timed, narration.duration, ctx.preset.effects.max_shot_seconds)
        stage.derived()
    return plan


def paint(ctx: Context, plan: Timeline, the_script: Script) -> tuple[tuple[images.Still, ...], tuple[sources.Credit, ...]]:
    """A picture per shot: real ones from the preset's sources where they fit, the rest painted; each cached."""
    picked = pick_real_pictures(ctx, plan, the_script)
    painter = backends.image_backend(ctx.settings, ctx.pool)
    rest = tuple(shot for shot in plan.shots if shot.index not in picked)
    with ctx.run.stage("images", painter.name, total=len(plan.shots), unit="image") as stage:
        try:
            painted = paint_offline_too(ctx, rest, painter, stage)
            real = [finished_real(ctx, plan.shots[shot], path, credit, stage.item) for shot, (path, credit) in picked.items()]
        finally:
            if ctx.pool is not None:
                ctx.pool.flush()
        if picked:
            stage.row.backend = f"{'+'.join(sorted({c.source for _, c in picked.values()}))}+{painter.name}"
    stills = tuple(sorted((*painted, *real), key=lambda still: still.shot))
    return stills, tuple(credit for _, (_, credit) in sorted(picked.items()))


def paint_offline_too(ctx: Context, shots: tuple[Shot, ...], painter: images.ImageBackend, stage) -> tuple[images.Still, ...]:  # noqa: ANN001
    """The shots painted by `painter`; by the procedural painter, after one warning, when its service cannot be
    reached at all (offline with a token set). A service that answers but refuses (402, quota) still pauses the job."""
    try:
        return images.paint_shots(shots, ctx.preset, painter, ctx.cache, backends.image_workers(ctx.settings, painter),
                                  stage.item)
    except InferenceUnreachable as error:
        log.warning("%s: the pictures are painted here instead", error)
        local = images.ProceduralPainter()
        stage.row.backend = local.name
        return images.paint_shots(shots, ctx.preset, local, ctx.cache, backends.image_workers(ctx.settings, local),
                                  stage.item)


def finished_real(ctx: Context, shot: Shot, path: Path, credit: sources.Credit,
                  on_item: Callable[[bool], None]) -> images.Still:
    """A fetched picture or clip with the preset's look; a clip as long as its shot and both its crossfades."""
    if credit.footage:
        seconds = shot.end - shot.start + ctx.preset.effects.transition
        return sources.finished_footage(shot.index, path, seconds, ctx.settings.fps, credit.source, ctx.preset,
                                        ctx.cache, on_item)
    return sources.finished_picture(shot.index, path, credit.source, ctx.preset, ctx.cache, on_item)


def ask_for_review(ctx: Context, stills: tuple[images.Still, ...], credits: tuple[sources.Credit, ...]) -> None:
    """Stop before the render with a contact sheet of the chosen pictures (ReviewWanted; the job pauses)."""
    by_shot = {credit.shot: credit for credit in credits}
    shots = [review.shot_source(s.image, by_shot.get(s.shot), s.backend) for s in stills]
    raise review.ReviewWanted(review.write_review(ctx.plan.folder, shots, bold_font_dir(ctx.settings.data_dir) / BOLD_FILE))


def pick_real_pictures(ctx: Context, plan: Timeline, the_script: Script) -> dict[int, tuple[Path, sources.Credit]]:
    """Real pictures for the shots the chain of sources (VF_IMAGE_SOURCES, else the preset's) can serve."""
    order = ctx.settings.image_source_order
    names = ctx.preset.images.sources if order is None else order
    if not names:
        return {}
    if "commons" in names and not ctx.settings.contact:
        log.warning("VF_CONTACT is not set: Wikimedia asks bots for a way to reach their operator (an e-mail address "
                    "or a web page) and may block those without one")
    with httpx_client(ctx.settings.contact) as client:
        chain = sources.SourceChain(backends.picture_sources(ctx.settings, tuple(names), client), ctx.cache,
                                    ctx.preset.images.allow_share_alike, client, relevance.make_relevance(),
                                    relevance.make_picture_ranker(ctx.settings.clip_model))
        scenes = {scene.index: scene for scene in the_script.scenes}
        with ctx.run.stage("sources", ",".join(names), total=len(plan.shots), unit="shot") as stage:
            return sources.pick_pictures(plan.shots, scenes, ctx.preset, the_script.topic, chain, stage.item,
                                         frozenset(ctx.request.avoid_pictures))


@dataclass(frozen=True)
class Soundtrack:
    """The mastered mix, its mood segments and where the music came from."""

    mix: Path
    segments: tuple[music.MusicSegment, ...]
    source: music.MusicSource


def score(ctx: Context, plan: Timeline, narration: Narration) -> Soundtrack:
    """Mood music under the narration, mastered to the preset's loudness."""
    style = ctx.preset.music
    source = music.make_source(ctx.settings.music_library_dir, style.library_tags, ctx.plan.work)
    with ctx.run.stage("music", source.name) as stage:
        segments = music.mood_segments(plan, style.min_segment_seconds)
        mix, cached = music.mastered_mix(narration.audio, segments, style, source, ctx.cache)
        stage.item(cached)
    return Soundtrack(mix, segments, source)


def render_options(settings: Settings) -> render.RenderOptions:
    """Frame rate, encoder settings, workers and fonts of the render."""
    return render.RenderOptions(fps=settings.fps, preset=settings.render_preset, crf=settings.render_crf,
                                workers=settings.render_workers, fonts=bold_font_dir(settings.data_dir))


def cards_of(ctx: Context, the_script: Script, plan: Timeline, marks: tuple[ChapterMark, ...],
             credits: tuple[sources.Credit, ...] = ()) -> tuple[captions.Card, ...]:
    """The chapters' title cards, the script's lower thirds and the pictures' credits: on each shot if the preset
    shows them, else at the end when the description cannot hold them all."""
    spans = dict(zip([scene.index for scene in the_script.scenes], plan.scene_spans))
    cards = captions.chapter_cards(marks, the_script.scenes, spans, ctx.preset.chapters)
    if ctx.preset.images.credits_on_screen:
        shots = {shot.index: shot for shot in plan.shots}
        cards += tuple(captions.Card(shots[c.shot].start + 0.3, max(shots[c.shot].start + 0.3, shots[c.shot].end - 0.3),
                                     sources.credit_line(c), "credit") for c in credits)
    elif credits and not sources.credits_fit(credits):  # too many for the description: never none at all
        cards += captions.end_roll([sources.credit_line(c) for c in credits], plan.duration, sources.MODIFIED)
    return tuple(sorted(cards, key=lambda card: card.start))


def caption(ctx: Context, timed: Words, options: render.RenderOptions,  # noqa: ANN201 - (pysubs2 file, paths)
            cards: tuple[captions.Card, ...] = ()):
    """Word-timed captions (with any chapter cards) to burn in, and SRT/VTT/ASS files beside the video."""
    kind, preset = ctx.caption_kind, ctx.preset
    with ctx.run.stage("captions", "pysubs2") as stage:
        cues = captions.build_cues(timed.words, captions.rules_for(kind, preset.captions))
        sidecar = captions.subtitle_file(cues, preset.captions, options.width, options.height)
        subs = captions.subtitle_file(cues, preset.captions, options.width, options.height, kind)
        captions.add_cards(subs, cards, preset.chapters, preset.captions, preset.thumbnail.accent, options.width,
                           options.height)
        paths = captions.write_subtitles(sidecar, subs, ctx.plan.folder)
        stage.derived()
    return subs, paths


def render_master(ctx: Context, plan: Timeline, stills: tuple[images.Still, ...], subs, soundtrack: Soundtrack,  # noqa: ANN001
                  options: render.RenderOptions) -> Path:
    """The 16:9 master: moving stills, burned-in captions, the mix; segment by segment, each cached."""
    segments = render.plan_segments(plan, options.fps, ctx.preset.effects.transition)
    with ctx.run.stage("render", "ffmpeg", total=len(segments), unit="segment") as stage:
        return render.render_master(segments, {s.shot: s.path for s in stills}, subs, soundtrack.mix,
                                    ctx.preset.effects, options, ctx.cache, ctx.plan.folder / "video.mp4",
                                    on_item=stage.item, helpers=ctx.helpers)


def design_thumbnails(ctx: Context, the_script: Script, plan: Timeline, stills: tuple[images.Still, ...],
                      options: render.RenderOptions) -> tuple[Path, ...]:
    """Three thumbnails, each another design on another picture of the video."""
    with ctx.run.stage("thumbnails", "pillow", total=3, unit="image") as stage:
        by_mood = sorted(stills, key=lambda s: plan.shots[s.shot].mood != "dramatic")
        picks = [stills[0].image, by_mood[0].image, stills[len(stills) // 2].image]
        made, cached = thumbnails.cached_thumbnails(picks, the_script.title, ctx.preset, options.fonts / BOLD_FILE,
                                                    ctx.plan.folder / "thumbnails", ctx.cache)
        for _ in made:
            stage.item(cached)
    return made


@dataclass(frozen=True)
class Cut:
    """What the exports are cut from: the master's timeline, words, narration, soundtrack, pictures and chapters."""

    plan: Timeline
    timed: Words
    narration: Narration
    soundtrack: Soundtrack
    stills: tuple[images.Still, ...]
    title: str
    marks: tuple[ChapterMark, ...] = ()


def export_jobs(ctx: Context, cut: Cut) -> list[tuple[exports.ExportProfile, ChapterMark | None]]:
    """Each export to make: one per profile, or for a video in chapters one per chapter of a length-limited profile."""
    wanted = ctx.request.exports if ctx.request.exports is not None else ctx.preset.exports
    profiles = [exports.profile_for(name, ctx.settings.export_max_seconds) for name in wanted if name != "youtube"]
    chaptered = len(cut.marks) >= longform.MIN_CHAPTERS
    return [(profile, mark) for profile in profiles
            for mark in (cut.marks if chaptered and profile.max_seconds else (None,))]


def render_exports(ctx: Context, cut: Cut, options: render.RenderOptions) -> list[Path]:
    """The other platforms' cuts (Shorts, TikTok, Reels, feed, square), each handed over as soon as it is made.

    A video in chapters gets a short per chapter, from the chapter's opening question, named after it.
    """
    jobs, made = export_jobs(ctx, cut), []
    if not jobs:
        return made
    folder = ctx.plan.folder / "exports"
    with ctx.run.stage("exports", "ffmpeg", total=len(jobs), unit="export") as stage:
        for profile, mark in jobs:
            out = folder / exports.export_name(profile, mark.number if mark else None, mark.title if mark else "")
            made.append(exports.render_export(
                profile, cut.plan, cut.timed.words, cut.narration.audio, cut.soundtrack.mix,
                {s.shot: s.path for s in cut.stills}, ctx.preset, ctx.caption_kind, cut.soundtrack.source, options,
                ctx.cache, ctx.plan.work, out, (mark.start, mark.end) if mark else None,
            ))
            if mark:
                atomic_write_text(out.with_suffix(".txt"), exports.chapter_description(mark.title, cut.title))
            stage.item(cached=False)
            ctx.run.progress.ready("export", (made[-1],))
    return made


def write_records(ctx: Context, the_script: Script, plan: Timeline, soundtrack: Soundtrack,
                  stills: tuple[images.Still, ...], files: tuple[Path, ...], marks: tuple[ChapterMark, ...] = (),
                  credits: tuple[sources.Credit, ...] = ()) -> None:
    """script.json, credits.txt (when real pictures were used) and job.json: the video's own records."""
    folder, request = ctx.plan.folder, ctx.request
    music_records = [MusicRecord(start=round(m.start, 3), end=round(m.end, 3), mood=m.mood) for m in soundtrack.segments]
    document = script_document(the_script, plan, music_records, marks)
    write_script(folder, document.model_copy(update={"credits": [CreditRecord(**vars(c)) for c in credits]}))
    if credits:
        atomic_write_text(folder / CREDITS_NAME, sources.credits_text(list(credits)))
        files = (*files, folder / CREDITS_NAME)
    manifest = JobManifest(
        videofactory=__version__, job_id=ctx.plan.job_id, created=utcnow(),
        inputs=ManifestInputs(topic=request.topic, preset=ctx.preset.name, length=request.length,
                              minutes=request.minutes, voice=request.voice,
                              script_file=str(request.script_file) if request.script_file else None,
                              voiceover=str(request.voiceover) if request.voiceover else None,
                              fresh=request.fresh, language=request.language, caption_style=request.caption_style,
                              exports=list(request.exports or ())),
        preset_snapshot=ctx.preset, backends=ctx.run.backends, stage_seconds=ctx.run.seconds,
        total_seconds=round(sum(ctx.run.seconds.values()), 3), video_seconds=round(plan.duration, 3),
        files=[str(path.relative_to(folder)) for path in (*files, folder / SCRIPT_NAME, folder / MANIFEST_NAME)],
        stills=[str(s.image) for s in stills],
    )
    write_manifest(folder, manifest)


# --- timing a recording on its own (the `words` command) -------------------------------------------------

def transcript_script(
    narration: Narration, language: str, recognizer: words.Recognizer, cache: Cache, title: str, preset: Preset
) -> Script:
    """What the narration says, as a script split into scenes."""
    heard = words.recognise(narration.audio, language, recognizer, cache)
    if not heard:
        raise InputError(f"no speech was recognised in {narration.audio.name}")
    transcript = " ".join(word.text for word in heard)
    return replace(script.text_script(transcript, title, preset, source="transcript"), language=language)


def time_recording(
    audio: Path, script_file: Path | None, language: str | None, preset_name: str, settings: Settings
) -> Words:
    """Word timings of any recording: its transcript's words, or a script's words aligned to it."""
    preset = load_preset(preset_name, settings.user_presets_dir)
    language = check_language(language or preset.language)
    own_text = script.read_script_file(script_file) if script_file else None
    cache = Cache(settings.cache_dir)
    narration = voice.import_voiceover(audio, cache, settings.max_voiceover_minutes * 60)
    recognizer = words.make_recognizer(
        settings.asr_backend, settings.whisper_model, language, settings.data_dir, settings.whisper_threads
    )
    if own_text is not None:
        the_script = replace(script.text_script(own_text, audio.stem, preset), language=language)
    else:
        the_script = transcript_script(narration, language, recognizer, cache, audio.stem, preset)
    reader = voice.make_voice("piper", preset.voice, language)
    return words.time_words(the_script, narration, "whisper", recognizer, cache, reader)
