"""`videofactory` command line: make a video, list presets, start the bot."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from engine.config import Settings, load_settings
from engine.errors import InputError, VideoFactoryError
from engine.models import CAPTION_KINDS, JobRequest
from engine.tokens import TokensExhausted

log = logging.getLogger("videofactory")


class BarProgress:
    """A rich progress bar per stage with ETA; plain lines when the output is not a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self.live = self.console.is_terminal
        self.bars = Progress(
            TextColumn("{task.description:<11}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, disable=not self.live,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> BarProgress:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.__exit__(*exc)  # type: ignore[arg-type]

    def started(self, stage: str, total: float, unit: str) -> None:
        """Add a bar for the stage."""
        self.tasks[stage] = self.bars.add_task(stage, total=max(total, 1e-9), unit=unit)
        if not self.live:
            print(f"[{stage}] started ({total:g} {unit})", file=sys.stderr, flush=True)

    def advanced(self, stage: str, done: float) -> None:
        """Move the stage's bar."""
        self.bars.update(self.tasks[stage], completed=done)

    def finished(self, stage: str) -> None:
        """Fill the stage's bar."""
        task = self.tasks[stage]
        self.bars.update(task, completed=self.bars.tasks[task].total)
        if not self.live:
            print(f"[{stage}] done", file=sys.stderr, flush=True)

    def ready(self, kind: str, paths: tuple[Path, ...]) -> None:
        """The CLI lists every file at the end."""


def _cmd_make(args: argparse.Namespace, settings: Settings) -> int:
    from engine.pipeline import make_video
    from engine.stages.exports import parse_exports

    if args.output:
        settings = settings.model_copy(update={"output_dir": Path(args.output)})
    request = JobRequest(
        topic=args.topic or "", preset=args.preset, script_file=args.script_file,
        voiceover=args.voiceover, length=args.length, fresh=args.fresh, language=args.language,
        caption_style=args.captions, exports=parse_exports(args.export) if args.export else None,
    )
    with BarProgress() as progress:
        artefacts = make_video(request, settings, progress)
    print(artefacts.folder)
    for path in (artefacts.video, *artefacts.subtitles, *artefacts.thumbnails, *artefacts.exports,
                 artefacts.script_json, artefacts.manifest):
        print(f"  {path.relative_to(artefacts.folder)}")
    return 0


def _cmd_presets(args: argparse.Namespace, settings: Settings) -> int:
    from engine.presets import load_preset_file, preset_files

    if args.action == "validate":
        if not args.file:
            raise InputError("give the preset file to check: videofactory presets validate FILE")
        preset = load_preset_file(args.file, settings.user_presets_dir)
        print(f"ok: {args.file} is a valid preset '{preset.name}': {preset.description}")
        return 0
    for name, path in preset_files(settings.user_presets_dir).items():
        try:
            print(f"{name:<22} {load_preset_file(path, settings.user_presets_dir).description}")
        except VideoFactoryError as error:
            print(f"{name:<22} (broken: {error})")
    return 0


def _cmd_words(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from engine.pipeline import time_recording

    timed = time_recording(args.audio, args.script, args.language, args.preset, settings)
    if args.json:
        document = {
            "backend": timed.backend,
            "words": [
                {"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3), "confidence": round(w.confidence, 3)}
                for w in timed.words
            ],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"{'start':>8} {'end':>8} {'conf':>5}  word")
    for w in timed.words:
        print(f"{w.start:8.3f} {w.end:8.3f} {w.confidence:5.2f}  {w.text}")
    return 0


def _cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from engine.pipeline import make_video, request_from_json
    from engine.store import Store, utcnow

    store = Store(settings.resolved_database_url)
    paused = store.paused()
    if not paused:
        print("no paused jobs")
        return 0
    code = 0
    for job in paused:
        back = job.resume_after.replace(tzinfo=utcnow().tzinfo) if job.resume_after else None
        if back and back > utcnow():
            if not args.wait:
                print(f"job {job.job_id} waits for a token until {back:%Y-%m-%d %H:%M} UTC; `resume --wait` waits for it")
                continue
            time.sleep((back - utcnow()).total_seconds())
        job.resumed = True
        store.add(job)
        print(f"resuming job {job.job_id}")
        try:
            with BarProgress() as progress:
                artefacts = make_video(request_from_json(job.request_json), settings, progress)
            print(artefacts.folder)
        except VideoFactoryError as error:
            print(f"job {job.job_id}: {error}", file=sys.stderr)
            code = error.exit_code
    return code


def _cmd_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from engine.pipeline import token_pool
    from engine.store import Store

    pool = token_pool(settings, Store(settings.resolved_database_url))
    if pool is None:
        print("no Hugging Face tokens configured (VF_HF_TOKENS or VF_HF_TOKENS_FILE)")
        return 0
    print(f"{'token':<8} {'state':<10} {'calls':>6} {'spend':>8} {'budget':>8}  cooldown until")
    for row in pool.ledger():
        cooldown = f"{row.cooldown_until:%H:%M:%S}" if row.cooldown_until and row.state == "throttled" else ""
        print(f"{row.fingerprint:<8} {row.state:<10} {row.calls:>6} {row.spend_usd:>8.3f} {settings.hf_budget_usd:>8.2f}  {cooldown}")
    return 0


def _cmd_thumbnails(args: argparse.Namespace, settings: Settings) -> int:
    from engine.thumbnail_choice import approve_thumbnail, remake_thumbnails

    if args.again:
        for path in remake_thumbnails(args.folder, settings):
            print(path)
    if args.approve is not None:
        print(f"approved: {approve_thumbnail(args.folder, args.approve)}")
    if not args.again and args.approve is None:
        raise InputError("say what to do: --again for a new set, --approve N to choose one")
    return 0


def _cmd_youtube(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    from engine.youtube import YouTube, authorize

    if args.action == "auth":
        print(f"authorised; credentials kept in {authorize(settings, console=args.console)}")
        return 0
    if args.folder is None:
        raise InputError("give the video's folder: videofactory youtube publish FOLDER")
    from engine.publish import publish, video_meta

    at = None
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            raise InputError(f"--at '{args.at}' is not a date and time such as 2026-12-01T18:00+01:00") from None
        at = at if at.tzinfo else at.astimezone()  # a time without a zone is local time
    video_meta(args.folder, settings, args.privacy, at)  # a wrong folder is reported before any sign-in
    youtube = YouTube.connect(settings)
    with BarProgress() as progress:
        progress.started("upload", 100, "%")
        done = publish(args.folder, settings, youtube, args.privacy, at,
                       lambda share: progress.advanced("upload", round(share * 100)))
        progress.finished("upload")
    print(f"uploaded: {done.url} ({done.privacy}{', captions added' if done.captions_id else ''})")
    if args.ab_test:
        tester = _tester(settings, youtube)
        test = tester.start(done.video_id, args.folder, None, datetime.now(timezone.utc),
                            settings.abtest_slot_hours, settings.abtest_max_days, settings.abtest_adaptive)
        print(f"A/B test #{test.id} started: `videofactory abtest tick` (or the bot) moves it on")
    return 0


def _tester(settings: Settings, youtube=None):
    from engine.abtest import ABTester
    from engine.store import Store
    from engine.youtube import YouTube

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    channel = (lambda: youtube) if youtube is not None else (lambda: YouTube.connect(settings))
    return ABTester(Store(settings.resolved_database_url), channel, settings.abtest_min_impressions,
                    settings.abtest_min_views)


def _cmd_abtest(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    tester = _tester(settings)
    now = datetime.now(timezone.utc)
    if args.action == "tick":
        for notice in tester.tick(now):
            print(notice.text, end="\n\n")
        return 0
    if args.action in ("stop", "pick"):
        if args.test is None or (args.action == "pick" and args.variant is None):
            raise InputError("say which test (and for pick, which thumbnail): videofactory abtest pick 3 2")
        test = tester.test(args.test)
        if test.state != "running":
            raise InputError(f"A/B test {test.id} is already {test.state}")
        notice = tester.stop(test, now) if args.action == "stop" else tester.finish(test, args.variant, now, "hand")
        print(notice.text)
        return 0
    tests = tester.tests()
    if not tests:
        print("no A/B tests yet: publish with --ab-test, or tap Publish in the bot")
    for test in tests:
        if args.test in (None, test.id):
            print(tester.report(test, now, test.state), end="\n\n")
    return 0


def _cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    from engine.stats import gather, stats_chart, stats_text
    from engine.store import Store

    if not 1 <= args.days <= 3650:
        raise InputError("--days is between 1 and 3650")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    figures = gather(Store(settings.resolved_database_url), args.days, datetime.now(timezone.utc), settings.hf_budget_usd)
    print(stats_text(figures))
    if args.chart:
        print(f"chart: {stats_chart(figures, args.chart)}")
    return 0


def _cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_bot

    return run_bot(settings)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="videofactory", description="Turn a topic into a finished video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    commands = parser.add_subparsers(dest="command", required=True)

    make = commands.add_parser("make", help="make a video from a topic, a script file or a voice-over")
    make.add_argument("topic", nargs="?", default="", help="what the video is about (at most 500 characters)")
    make.add_argument("--preset", default="military-history", help="channel preset (see `videofactory presets`)")
    make.add_argument("--output", type=Path, help="output folder (default $VF_OUTPUT_DIR or ./output)")
    make.add_argument("--script-file", type=Path, help="your own script as UTF-8 text; paragraphs become scenes")
    make.add_argument("--voiceover", type=Path, help="your own narration (wav, mp3, ogg, m4a) instead of TTS")
    make.add_argument("--length", choices=("short", "medium", "long"), help="outline length (default: the preset's)")
    make.add_argument("--fresh", action="store_true", help="ignore the cache and compute everything again")
    make.add_argument("--language", help="language code of the narration (default: the preset's), e.g. en, ru")
    make.add_argument("--captions", choices=CAPTION_KINDS, help="burned-in caption style (default: the preset's)")
    make.add_argument("--export", help="also render for: youtube, shorts, tiktok, reels, feed, square "
                      "(comma separated; default: the preset's)")
    make.set_defaults(handler=_cmd_make)

    timing = commands.add_parser("words", help="print the word timings of a recording")
    timing.add_argument("audio", type=Path, help="the recording (wav, mp3, ogg, m4a, or a video)")
    timing.add_argument("--script", type=Path, help="the text that is spoken: its words are timed, as written")
    timing.add_argument("--language", help="language code (default: the preset's)")
    timing.add_argument("--preset", default="military-history", help="preset whose voice and language to use")
    timing.add_argument("--json", action="store_true", help="JSON instead of a table")
    timing.set_defaults(handler=_cmd_words)

    presets = commands.add_parser("presets", help="list the channel presets, or check one file")
    presets.add_argument("action", nargs="?", choices=("list", "validate"), default="list")
    presets.add_argument("file", nargs="?", type=Path, help="with validate: the preset file to check")
    presets.set_defaults(handler=_cmd_presets)

    resume = commands.add_parser("resume", help="go on with jobs paused because every token ran out")
    resume.add_argument("--wait", action="store_true", help="wait until a token is back, then go on")
    resume.set_defaults(handler=_cmd_resume)

    tokens = commands.add_parser("tokens", help="check the Hugging Face tokens and show their ledger")
    tokens.set_defaults(handler=_cmd_tokens)

    thumbs = commands.add_parser("thumbnails", help="design a new set of thumbnails for a video, or choose one")
    thumbs.add_argument("folder", type=Path, help="the video's output folder")
    thumbs.add_argument("--again", action="store_true", help="three new designs from other pictures of the video")
    thumbs.add_argument("--approve", type=int, choices=(1, 2, 3), help="make this one the video's thumbnail.jpg")
    thumbs.set_defaults(handler=_cmd_thumbnails)

    youtube = commands.add_parser("youtube", help="authorise YouTube once, then publish videos")
    youtube.add_argument("action", choices=("auth", "publish"))
    youtube.add_argument("folder", nargs="?", type=Path, help="with publish: the video's output folder")
    youtube.add_argument("--console", action="store_true", help="auth on a server without a browser")
    youtube.add_argument("--privacy", choices=("private", "unlisted", "public"), default="private")
    youtube.add_argument("--at", help="schedule: publish at this time (ISO 8601, e.g. 2026-12-01T18:00+01:00)")
    youtube.add_argument("--ab-test", action="store_true", help="then test the three thumbnails against each other")
    youtube.set_defaults(handler=_cmd_youtube)

    abtest = commands.add_parser("abtest", help="thumbnail A/B tests: list, move on, stop, or pick a winner")
    abtest.add_argument("action", nargs="?", choices=("list", "tick", "stop", "pick"), default="list")
    abtest.add_argument("test", nargs="?", type=int, help="the test's number")
    abtest.add_argument("variant", nargs="?", type=int, help="with pick: the winning thumbnail, 1-3")
    abtest.set_defaults(handler=_cmd_abtest)

    stats = commands.add_parser("stats", help="videos made, time per stage, pictures, tokens, A/B tests, failures")
    stats.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    stats.add_argument("--chart", type=Path, help="also draw the chart into this PNG file")
    stats.set_defaults(handler=_cmd_stats)

    bot = commands.add_parser("bot", help="run the Telegram bot")
    bot.set_defaults(handler=_cmd_bot)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, read settings once, run, and turn our errors into one line and an exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # HTTP clients log every request URL at INFO, and the Bot API's URLs carry the bot token.
    for noisy in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
        return args.handler(args, settings)
    except TokensExhausted as error:
        print(f"paused: {error}. Nothing finished is lost: run the same command again, or `videofactory resume`.",
              file=sys.stderr)
        return error.exit_code
    except VideoFactoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume where it stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
