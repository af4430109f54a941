"""The orchestrator: it reads as the list of stages it runs."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from engine import __version__
from engine.cache import Cache, atomic_write_text, cache_key, translate_os_errors
from engine.config import Settings
from engine.errors import BackendError, ConfigError, InputError, VideoFactoryError
from engine.hf import HFService, check_token, inference_client, translated
from engine.fonts import BOLD_FILE, bold_font_dir
from engine.models import Artefacts, JobRequest, Narration, Script, Timeline, Words
from engine.presets import Preset, load_preset
from engine.progress import ProgressHook, SilentProgress
from engine.stages import (
    captions,
    exports,
    images,
    moods,
    music,
    render,
    script,
    thumbnails,
    timeline,
    voice,
    words,
)
from engine.store import JobRecord, PausedJob, StageRun, Store, utcnow
from engine.tokens import Token, TokenPool, TokensExhausted, read_tokens
from engine.text import slugify

log = logging.getLogger(__name__)


class StageHandle:
    """One running stage: counts items (cached or computed) in the database as they finish."""

    def __init__(self, store: Store, row: StageRun, progress: ProgressHook) -> None:
        self._store, self.row, self._progress = store, row, progress
        self._lock = threading.Lock()

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
    """Bookkeeping of one run of a job: its row, stage rows and per-stage seconds."""

    store: Store
    job: JobRecord
    progress: ProgressHook
    seconds: dict[str, float] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)
    video_seconds: float | None = None

    @contextmanager
    def stage(self, name: str, backend: str, total: float = 1, unit: str = "step") -> Iterator[StageHandle]:
        """Record a stage in the database and the progress hook, with its outcome and timing."""
        row = self.store.add(StageRun(job_id=self.job.id, stage=name, backend=backend, items_total=int(total)))
        handle = StageHandle(self.store, row, self.progress)  # type: ignore[arg-type]
        self.progress.started(name, total, unit)
        began = time.perf_counter()
        try:
            yield handle
        except BaseException as error:
            handle.row.outcome, handle.row.error = "failed", _describe(error)
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


def _describe(error: BaseException) -> str:
    if isinstance(error, VideoFactoryError):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return f"{type(error).__name__}: {error}"


def _check_writable(folder: Path) -> None:
    """Fail before any work if `folder` cannot be created or written."""
    with translate_os_errors(str(folder)):
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()


@dataclass(frozen=True)
class Inputs:
    """A validated request with its preset and the text it starts from."""

    request: JobRequest
    preset: Preset
    slug: str
    own_text: str | None
    language: str


def prepare(request: JobRequest, settings: Settings) -> Inputs:
    """Check every input before any work starts, so bad input costs nothing."""
    preset = load_preset(request.preset, settings.user_presets_dir)
    own_text = script.read_script_file(request.script_file) if request.script_file else None
    if request.voiceover and not request.voiceover.is_file():
        raise InputError(f"voice-over file {request.voiceover} does not exist")
    if own_text is None and request.voiceover is None:
        topic = script.check_topic(request.topic)
    else:
        topic = " ".join(request.topic.split())
        if len(topic) > script.MAX_TOPIC_CHARS:
            script.check_topic(topic)
    name = topic or (request.script_file or request.voiceover).stem  # type: ignore[union-attr]
    language = check_language(request.language or preset.language)
    return Inputs(JobRequest(**{**asdict(request), "topic": topic}), preset, slugify(name), own_text, language)


def check_language(code: str) -> str:
    """A language code such as "en" or "ru" (what Whisper and espeak-ng both understand)."""
    if not re.fullmatch(r"[a-z]{2,3}", code):
        raise InputError(f"language '{code}' is not a two- or three-letter code such as en, ru or de")
    return code


def make_video(request: JobRequest, settings: Settings, progress: ProgressHook | None = None) -> Artefacts:
    """Run every stage for one job and leave its artefacts in `<output>/<slug>/`."""
    progress = progress or SilentProgress()
    inputs = prepare(request, settings)
    folder = settings.output_dir / inputs.slug
    _check_writable(folder)
    _check_writable(settings.data_dir)
    store = Store(settings.resolved_database_url)
    cache = Cache(settings.cache_dir, read=not request.fresh)
    job = store.add(JobRecord(slug=inputs.slug, topic=inputs.request.topic or inputs.slug, preset=inputs.preset.name))
    run = JobRun(store, job, progress)  # type: ignore[arg-type]
    began = time.perf_counter()
    try:
        artefacts = _run_stages(inputs, settings, cache, run, folder, store)
    except TokensExhausted as error:
        # Nothing is lost: every finished image is in the cache. The job goes on when a token is back.
        job.status, job.error, job.finished = "paused", str(error), utcnow()
        store.add(job)
        store.add(PausedJob(job_id=job.id, request_json=request_json(request), reason=str(error),
                            resume_after=error.resume_after))
        raise
    except BaseException as error:
        job.status, job.error, job.finished = "failed", _describe(error), utcnow()
        store.add(job)
        raise
    job.status, job.finished, job.folder = "done", utcnow(), str(folder)
    job.video_seconds = run.video_seconds
    store.add(job)
    log.info("job %s done in %.1f s", inputs.slug, time.perf_counter() - began)
    return artefacts


def request_json(request: JobRequest) -> str:
    """A request as JSON, to run it again later."""
    return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(request).items()})


def request_from_json(text: str) -> JobRequest:
    """The request `request_json` wrote."""
    data = json.loads(text)
    for name in ("script_file", "voiceover"):
        data[name] = Path(data[name]) if data.get(name) else None
    data["exports"] = tuple(data["exports"]) if data.get("exports") is not None else None
    return JobRequest(**data)


def token_pool(settings: Settings, store: Store) -> TokenPool | None:
    """The pool of configured Hugging Face tokens, each checked once; None when there are none."""
    tokens = read_tokens(settings.hf_tokens, settings.hf_tokens_file)
    if not tokens:
        return None
    pool = TokenPool(tokens, store, settings.hf_budget_usd)
    pool.validate(check_token(hf_service(settings)))
    return pool


def hf_service(settings: Settings) -> HFService:
    """Where the inference service is, from the settings."""
    return HFService(settings.hf_base_url, settings.hf_provider, settings.hf_timeout, settings.hf_endpoint)


def _run_stages(
    inputs: Inputs, settings: Settings, cache: Cache, run: JobRun, folder: Path, store: Store
) -> Artefacts:
    request, preset = inputs.request, inputs.preset
    work = settings.data_dir / "work" / inputs.slug
    _check_writable(work)
    recognizer = words.make_recognizer(
        settings.asr_backend, settings.whisper_model, inputs.language, settings.data_dir, settings.whisper_threads
    )

    wants_hf = settings.image_backend != "procedural" or settings.script_backend != "outline"
    pool = token_pool(settings, store) if wants_hf else None
    for backend, name in ((settings.image_backend, "VF_IMAGE_BACKEND=flux"), (settings.script_backend, "VF_SCRIPT_BACKEND=llm")):
        if backend in ("flux", "llm") and pool is None:
            raise ConfigError(f"{name} needs Hugging Face tokens: set VF_HF_TOKENS or VF_HF_TOKENS_FILE")

    use_llm = pool is not None and settings.script_backend in ("auto", "llm") and not (inputs.own_text or request.voiceover)
    with run.stage("script", "own-text" if inputs.own_text else "llm" if use_llm else "outline") as stage:
        the_script = _write_script(inputs, recognizer, cache, pool if use_llm else None, settings)
        stage.row.backend = the_script.source
        stage.item(cached=False)

    classifier = moods.make_mood_classifier(settings.mood_backend)
    with run.stage("moods", classifier.name) as stage:
        the_script = moods.assign_moods(the_script, classifier, preset.music.moods)
        stage.item(cached=False)
    del classifier  # frees the embedding model before the memory-hungry stages

    # Our own voice reads the script: it narrates, or it is the template a voice-over is timed against.
    tts = voice.make_voice("piper", preset.voice, the_script.language)
    narration: Narration
    if request.voiceover:
        with run.stage("voice", "voiceover") as stage:
            narration = voice.import_voiceover(request.voiceover, cache)
            stage.item(cached=True)
    else:
        with run.stage("voice", tts.name, total=len(the_script.scenes), unit="scene") as stage:
            narration = voice.narrate(the_script, tts, cache, work / "narration.wav", stage.item)

    with run.stage("words", recognizer.name) as stage:
        timed: Words = words.time_words(the_script, narration, settings.words_backend, recognizer, cache, tts)
        stage.row.backend = timed.backend
        stage.item(cached=False)

    with run.stage("timeline", "words") as stage:
        plan: Timeline = timeline.build_timeline(the_script, timed, narration.duration, preset.effects.max_shot_seconds)
        stage.item(cached=False)

    painter: images.ImageBackend = images.ProceduralPainter()
    workers = settings.render_workers
    if pool is not None and settings.image_backend in ("auto", "flux"):
        painter = images.FluxImages(pool, hf_service(settings), settings.image_model, settings.image_steps,
                                    settings.image_seed, settings.image_cost_usd, settings.image_pixels)
        workers = settings.image_workers
    with run.stage("images", painter.name, total=len(plan.shots), unit="image") as stage:
        try:
            stills = images.paint_shots(plan.shots, preset, painter, cache, workers, stage.item)
        finally:
            if pool is not None:
                pool.flush()

    source = music.make_source(settings.music_library_dir, preset.music.library_tags, work)
    with run.stage("music", source.name) as stage:
        music_plan = music.mood_segments(plan, preset.music.min_segment_seconds)
        mix = music.mix_music(narration.audio, music_plan, preset.music, source, work / "mix.wav")
        # YouTube's reference: -14 LUFS, true peak under -1 dBTP; the AAC encoder may add a little, hence the margin.
        mix = music.master_mix(mix, preset.music, music.AAC_PEAK_MARGIN_DB, work / "master.wav")
        stage.item(cached=False)

    fonts = bold_font_dir(settings.data_dir)
    options = render.RenderOptions(fps=settings.fps, preset=settings.render_preset, crf=settings.render_crf,
                                   workers=settings.render_workers, fonts=fonts)
    with run.stage("captions", "pysubs2") as stage:
        kind = request.caption_style or preset.captions.style
        cues = captions.build_cues(timed.words, captions.rules_for(kind, preset.captions))
        sidecar = captions.subtitle_file(cues, preset.captions, options.width, options.height)
        subs = captions.subtitle_file(cues, preset.captions, options.width, options.height, kind)
        subtitle_paths = captions.write_subtitles(sidecar, subs, folder)
        stage.item(cached=False)

    segments = render.plan_segments(plan, options.fps, preset.effects.transition)
    with run.stage("render", "ffmpeg", total=len(segments), unit="segment") as stage:
        video = render.render_master(
            segments, {s.shot: s.path for s in stills}, subs, mix, preset.effects, options, cache,
            folder / "video.mp4", on_item=stage.item,
        )
    run.video_seconds = round(plan.duration, 3)

    with run.stage("thumbnails", "pillow", total=3, unit="image") as stage:
        by_mood = sorted(stills, key=lambda s: plan.shots[s.shot].mood != "dramatic")
        picks = [stills[0].path, by_mood[0].path, stills[len(stills) // 2].path]
        thumbs = thumbnails.make_thumbnails(picks, the_script.title, preset, fonts / BOLD_FILE, folder / "thumbnails")
        for _ in thumbs:
            stage.item(cached=False)
    run.progress.ready("thumbnails", thumbs)
    run.progress.ready("video", (video,))

    wanted = request.exports if request.exports is not None else preset.exports
    profiles = [exports.profile_for(name, settings.export_max_seconds) for name in wanted if name != "youtube"]
    made: list[Path] = []
    if profiles:
        with run.stage("exports", "ffmpeg", total=len(profiles), unit="export") as stage:
            for profile in profiles:
                made.append(exports.render_export(
                    profile, plan, timed.words, narration.audio, mix, {s.shot: s.path for s in stills}, preset,
                    kind, source, options, cache, work, folder / "exports" / exports.export_name(profile),
                ))
                stage.item(cached=False)
                run.progress.ready("export", (made[-1],))

    script_json = folder / "script.json"
    document = _script_document(the_script, plan)
    document["music"] = [
        {"start": round(m.start, 3), "end": round(m.end, 3), "mood": m.mood} for m in music_plan
    ]
    atomic_write_text(script_json, json.dumps(document, indent=2, ensure_ascii=False))
    manifest = folder / "job.json"
    files = [video, *subtitle_paths, *thumbs, *made, script_json, manifest]
    record = _manifest(inputs, run, plan, folder, files)
    record["stills"] = [str(s.path) for s in stills]  # cached pictures, for regenerating thumbnails later
    atomic_write_text(manifest, json.dumps(record, indent=2, ensure_ascii=False))
    return Artefacts(folder, video, subtitle_paths, thumbs, script_json, manifest, tuple(made))


def _write_script(
    inputs: Inputs, recognizer: words.Recognizer, cache: Cache, pool: TokenPool | None, settings: Settings
) -> Script:
    request, preset = inputs.request, inputs.preset
    length = request.length or preset.length
    if inputs.own_text is not None:
        written = script.text_script(inputs.own_text, request.topic or inputs.slug, preset)
    elif request.voiceover:
        narration = voice.import_voiceover(request.voiceover, cache)
        written = transcript_script(narration, inputs.language, recognizer, cache, request.topic or inputs.slug, preset)
    elif pool is not None:
        written = _llm_script(request.topic, preset, length, pool, settings, cache)
    else:
        written = script.outline_script(request.topic, preset, length)
    return replace(written, language=inputs.language)


def _llm_script(topic: str, preset: Preset, length: str, pool: TokenPool, settings: Settings, cache: Cache) -> Script:
    """The language model's script (cached, so a resumed job never asks twice), or the outline if it cannot write one."""
    service = hf_service(settings)

    def ask(messages: list[dict[str, str]]) -> str:
        def chat(token: Token) -> str:
            client = inference_client(service, token, settings.llm_model)
            with translated(token):
                reply = client.chat_completion(messages, model=settings.llm_model, max_tokens=4096, temperature=0.7)
            return reply.choices[0].message.content or ""

        return pool.call(chat, settings.llm_cost_usd, "script")

    key = cache_key("script.llm", script.VERSION, {
        "topic": topic, "length": length, "template": preset.llm.script, "model": settings.llm_model,
        "prefix": preset.images.prompt_prefix, "suffix": preset.images.prompt_suffix,
    })
    try:
        written, _ = cache.remember(key, Script, lambda folder: script.llm_script(topic, preset, length, ask))
    except TokensExhausted:
        raise
    except BackendError as error:
        log.warning("the language model could not write the script (%s); using the preset's outline", error)
        return script.outline_script(topic, preset, length)
    return written


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
    narration = voice.import_voiceover(audio, cache)
    recognizer = words.make_recognizer(
        settings.asr_backend, settings.whisper_model, language, settings.data_dir, settings.whisper_threads
    )
    if own_text is not None:
        the_script = replace(script.text_script(own_text, audio.stem, preset), language=language)
    else:
        the_script = transcript_script(narration, language, recognizer, cache, audio.stem, preset)
    reader = voice.make_voice("piper", preset.voice, language)
    return words.time_words(the_script, narration, "whisper", recognizer, cache, reader)


def _script_document(the_script: Script, plan: Timeline) -> dict:
    spans = dict(zip([s.index for s in the_script.scenes], plan.scene_spans))
    return {
        "title": the_script.title,
        "description": the_script.description,
        "tags": list(the_script.tags),
        "topic": the_script.topic,
        "language": the_script.language,
        "source": the_script.source,
        "duration": round(plan.duration, 3),
        "scenes": [
            {
                "index": scene.index,
                "section": scene.section,
                "narration": scene.narration,
                "image_prompt": scene.image_prompt,
                "mood": scene.mood,
                "start": round(spans[scene.index][0], 3) if scene.index in spans else None,
                "end": round(spans[scene.index][1], 3) if scene.index in spans else None,
                "shots": [
                    {"start": round(s.start, 3), "end": round(s.end, 3), "motion": s.motion}
                    for s in plan.shots if s.scene == scene.index
                ],
            }
            for scene in the_script.scenes
        ],
    }


def _manifest(inputs: Inputs, run: JobRun, plan: Timeline, folder: Path, files: list[Path]) -> dict:
    request = inputs.request
    return {
        "videofactory": __version__,
        "job_id": run.job.id,
        "created": run.job.created.isoformat(),
        "inputs": {
            "topic": request.topic,
            "preset": inputs.preset.name,
            "length": request.length or inputs.preset.length,
            "script_file": str(request.script_file) if request.script_file else None,
            "voiceover": str(request.voiceover) if request.voiceover else None,
            "fresh": request.fresh,
            "language": inputs.language,
            "caption_style": request.caption_style or inputs.preset.captions.style,
            "exports": list(request.exports if request.exports is not None else inputs.preset.exports),
        },
        "backends": run.backends,
        "stage_seconds": run.seconds,
        "total_seconds": round(sum(run.seconds.values()), 3),
        "video_seconds": round(plan.duration, 3),
        "files": [str(path.relative_to(folder)) for path in files],
    }
