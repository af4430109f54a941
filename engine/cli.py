"""`videofactory` command line: make a video, list presets, start the bot."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path

from engine.config import Settings, load_settings
from engine.errors import InputError, VideoFactoryError
from engine.models import CAPTION_KINDS, JobRequest
from engine.queue_cli import add_queue_commands
from engine.plan_cli import add_plan_commands
from engine.shots_cli import add_shot_commands
from engine.voices_cli import add_voice_commands
from engine.tokens import TokensExhausted

log = logging.getLogger("videofactory")


class BarProgress:
    """A rich progress bar per stage with ETA, fed by the runner's events; plain lines when not on a terminal."""

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
        self.closed: set[str] = set()

    def __enter__(self) -> BarProgress:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.__exit__(*exc)  # type: ignore[arg-type]

    def show(self, stage: str, done: float, total: float, unit: str) -> None:
        """A stage's bar: added when the stage begins, moved as it goes, filled when it ends."""
        if stage not in self.tasks:
            self.tasks[stage] = self.bars.add_task(stage, total=max(total, 1e-9), unit=unit)
            if not self.live:
                print(f"[{stage}] started ({total:g} {unit})", file=sys.stderr, flush=True)
        self.bars.update(self.tasks[stage], completed=done)
        if done >= total and stage not in self.closed and done > 0:
            self.closed.add(stage)
            if not self.live:
                print(f"[{stage}] done", file=sys.stderr, flush=True)

    def on_event(self, event: object) -> None:
        """The runner's events about the job being made."""
        from engine.runner import JobProgressed, JobResumed

        if isinstance(event, JobProgressed):
            self.show(event.stage, event.done, event.total, event.unit)
        elif isinstance(event, JobResumed):
            print(f"job {event.job_id} goes on from where it stopped", file=sys.stderr, flush=True)


def open_store(settings: Settings):  # noqa: ANN201 - engine.store.Store
    """The configured database (engine.store's, loaded only when a command needs it)."""
    from engine.store import open_store as opened

    return opened(settings)


def follow(runner, job_id: int, progress: BarProgress) -> int:  # noqa: ANN001 - an engine.runner.EmbeddedRunner
    """Wait for a job while its progress is drawn; print how it ended; the exit code."""
    from engine.jobs import Cancelled, Done, Failed, Paused

    try:
        outcome = runner.wait(job_id)
    except KeyboardInterrupt:
        runner.cancel(job_id)  # the job stops between two items; what finished stays cached
        runner.wait(job_id)
        raise
    match outcome:
        case Done(artefacts):
            print(artefacts.folder)
            for path in (artefacts.video, *artefacts.subtitles, *artefacts.thumbnails, *artefacts.exports,
                         artefacts.script_json, artefacts.manifest):
                print(f"  {path.relative_to(artefacts.folder)}")
            return 0
        case Paused(reason):
            print(f"paused: {reason}. Nothing finished is lost: run the same command again, or "
                  "`videofactory resume`.", file=sys.stderr)
            return TokensExhausted.exit_code
        case Failed(reason, exit_code):
            print(f"error: {reason}", file=sys.stderr)
            return exit_code
        case Cancelled():
            print("cancelled: run the same command again to go on where it stopped", file=sys.stderr)
            return 130
    raise AssertionError(f"unknown outcome {outcome!r}")


def _cmd_make(args: argparse.Namespace, settings: Settings) -> int:
    from engine.jobs import LOCAL, Origin
    from engine.runner import EmbeddedRunner
    from engine.stages.exports import parse_exports

    if args.output:
        settings = settings.model_copy(update={"output_dir": Path(args.output)})
    request = JobRequest(
        topic=args.topic or "", preset=args.preset, script_file=args.script_file,
        voiceover=args.voiceover, length=args.length, minutes=args.minutes, voice=args.voice, fresh=args.fresh,
        language=args.language,
        caption_style=args.captions, exports=parse_exports(args.export) if args.export else None,
        review=False,  # a preset's review is for the chat; here `videofactory shots FOLDER --replace N` reviews after
    )
    runner = EmbeddedRunner(settings, open_store(settings))
    runner.book.pause_interrupted(LOCAL)  # killed runs of the command line: taken up by the same command, or resume
    try:
        with BarProgress() as progress:
            runner.subscribe(progress.on_event)
            # The same command after a kill or a pause takes up that job again: same folder, from the cache.
            job = runner.submit(request, Origin(LOCAL), take_up_same=True)
            return follow(runner, int(job.id), progress)  # type: ignore[arg-type]
    finally:
        runner.shutdown()


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

    from engine.jobs import LOCAL, JobBook, JobState
    from engine.runner import EmbeddedRunner
    from engine.store import as_utc, utcnow

    store = open_store(settings)
    book = JobBook(store)
    book.pause_interrupted(LOCAL)
    waiting = book.find(states=[JobState.PAUSED], origin=LOCAL)
    if not waiting:
        print("no paused or interrupted jobs")
        return 0
    runner = EmbeddedRunner(settings, store)
    code = 0
    try:
        for job in waiting:
            back = as_utc(job.resume_after)
            if back is not None and back > utcnow():
                if not args.wait:
                    print(f"job {job.id} waits for a token until {back:%Y-%m-%d %H:%M} UTC; `resume --wait` waits for it")
                    continue
                time.sleep((back - utcnow()).total_seconds())
            print(f"resuming job {job.id}: {job.topic}")
            with BarProgress() as progress:
                runner.subscribe(progress.on_event)
                if runner.resume(int(job.id), "restart"):  # type: ignore[arg-type]
                    code = follow(runner, int(job.id), progress) or code  # type: ignore[arg-type]
                runner.listeners.remove(progress.on_event)
    finally:
        runner.shutdown()
    return code


def _cmd_cache(args: argparse.Namespace, settings: Settings) -> int:
    from engine import housekeeping
    from engine.jobs import JobBook

    book = JobBook(open_store(settings))
    if args.action == "prune":
        if args.older_than is None and args.max_size is None:
            raise InputError("say what to remove: --older-than 30d, --max-size 20G, or both")
        older = housekeeping.parse_age(args.older_than) if args.older_than else None
        biggest = housekeeping.parse_size(args.max_size) if args.max_size else None
        swept = housekeeping.sweep_scratch(settings, book)
        pruned = housekeeping.prune_cache(settings.cache_dir, book, older, biggest)
        print(f"removed {pruned.entries} cache entries ({pruned.freed / 2**20:.0f} MB) and {swept} leftovers of "
              f"killed runs; kept {pruned.kept_for_jobs} that a queued, running or paused job may need")
        return 0
    listed = housekeeping.entries(settings.cache_dir)
    total = sum(entry.size for entry in listed)
    print(f"cache: {settings.cache_dir}\n{len(listed)} entries, {total / 2**20:.0f} MB")
    if listed:
        print(f"least recently used {datetime.fromtimestamp(listed[0].used):%Y-%m-%d %H:%M}, "
              f"most recently {datetime.fromtimestamp(listed[-1].used):%Y-%m-%d %H:%M}")
    if settings.cache_max_gb is not None:
        print(f"kept under {settings.cache_max_gb:g} GB after each job (VF_CACHE_MAX_GB)")
    return 0


def _cmd_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from engine.backends import token_pool
    from engine.token_report import account_lines

    pool = token_pool(settings, open_store(settings), fresh=args.check)
    if pool is None:
        print("no Hugging Face tokens configured (VF_HF_TOKENS or VF_HF_TOKENS_FILE)")
        return 0
    print("\n".join(account_lines(pool.balances())))
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

    from engine.youtube import PRIVATE_LOCK, YouTube, authorize

    if args.action == "auth":
        if args.channel:
            return _authorise_channel(args, settings)
        print(f"authorised; credentials kept in {authorize(settings, console=args.console)}")
        _start_reach_reports(YouTube.connect(settings))
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
    if args.ab_test and (args.privacy == "private" or at is not None):
        raise InputError("an A/B test needs a video people can see now: publish it --privacy public or unlisted, "
                         "without --at")
    from engine.publish import publish_channel

    youtube = YouTube.connect(settings, channel=args.channel or publish_channel(args.folder, settings))
    with BarProgress() as progress:
        progress.started("upload", 100, "%")
        done = publish(args.folder, settings, youtube, args.privacy, at,
                       lambda share: progress.advanced("upload", round(share * 100)))
        progress.finished("upload")
    print(f"uploaded: {done.url} ({done.privacy}{', captions added' if done.captions_id else ''})")
    for problem in done.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if done.locked_private:
        print(f"warning: {PRIVATE_LOCK}" + ("; no A/B test started" if args.ab_test else ""), file=sys.stderr)
    elif args.ab_test:
        from engine.thumbnail_choice import approved_design

        from engine.abpower import told

        tester = _tester(settings, youtube)
        test = tester.start_thumbnails(done.video_id, args.folder, None, datetime.now(timezone.utc),
                                       datetime.now(timezone.utc), approved_design(args.folder))
        print(f"A/B test #{test.id} started: `videofactory abtest tick` (or the bot) moves it on; "
              f"`videofactory abtest stop {test.id}` ends it")
        print(told(tester.power()))
    return 0


def _authorise_channel(args: argparse.Namespace, settings: Settings) -> int:
    """`youtube auth --channel NAME`: the channel's own credentials, its ID and title read back and kept."""
    from datetime import datetime, timezone

    from engine.channels import ChannelBook, checked_name
    from engine.youtube import YouTube, authorize

    name = checked_name(args.channel)
    secrets = args.client_secrets.resolve() if args.client_secrets else None
    path = authorize(settings, console=args.console, channel=name, client_secrets=secrets)
    youtube = YouTube.connect(settings, channel=name)
    youtube_id, title = youtube.own_channel()
    ChannelBook(open_store(settings)).authorised(name, youtube_id, title, str(secrets) if secrets else None,
                                                 args.testing_app, datetime.now(timezone.utc))
    print(f"channel {name} is «{title}» ({youtube_id}); credentials kept in {path}")
    if args.testing_app:
        print("its OAuth app is in Testing: Google ends this authorisation in 7 days; the bot reminds you a day before")
    _start_reach_reports(youtube)
    return 0


def _tester(settings: Settings, youtube=None):
    from engine.reach import youtube_tester

    return youtube_tester(settings, open_store(settings), (lambda: youtube) if youtube is not None else None)


def _start_reach_reports(youtube) -> None:  # noqa: ANN001 - engine.youtube.YouTube
    """Ask YouTube for the daily reach reports now: the first come about two days later, and A/B tests need them."""
    try:
        youtube.reach_job()
    except VideoFactoryError as error:
        print(f"warning: A/B tests will have no click data until this is fixed: {error}", file=sys.stderr)
        return
    print("YouTube will make daily thumbnail reach reports for A/B tests (the first in about two days)")


def _start_title_test(args: argparse.Namespace, settings: Settings, tester, now) -> int:  # noqa: ANN001
    """`abtest titles --video ID --title A --title B`: the video's facts from YouTube, then the test."""
    from engine.youtube import YouTube

    if not args.video or len(args.title) < 2:
        raise InputError('give the video and two or more titles: videofactory abtest titles --video ID --title "A" '
                         '--title "B"')
    published, _ = YouTube.connect(settings).video_facts(args.video)
    test = tester.start_titles(args.video, args.title, None, now, published)
    print(f"A/B test #{test.id} of {test.variants} titles started; the first judged day is {test.first_day}")
    return 0


def _cmd_abtest(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    from engine import abreport

    from engine.channels import ChannelBook
    from engine.reach import Testers, channel_testers
    from engine.youtube import YouTube

    tester = _tester(settings)
    testers = Testers(tester, channel_testers(settings, tester.store, lambda name: YouTube.connect(settings, channel=name)))
    now = datetime.now(timezone.utc)
    if args.action == "tick":
        for notice in testers.tick([c.name for c in ChannelBook(tester.store).all()], now):
            print(notice.text, end="\n\n")
        return 0
    if args.action == "titles":
        return _start_title_test(args, settings, tester, now)
    if args.action == "power":
        from engine.abpower import told

        print(told(tester.power_on(args.channel)))
        return 0
    if args.action in ("stop", "pick"):
        if args.test is None or (args.action == "pick" and args.variant is None):
            raise InputError("say which test (and for pick, which variant): videofactory abtest pick 3 2")
        test = tester.test(args.test)
        if test.state != "running":
            raise InputError(f"A/B test {test.id} is already {test.state}")
        own = testers.of(test.channel)  # it switches thumbnails on the test's own channel
        notice = own.stop(test, now) if args.action == "stop" else own.finish(test, args.variant, now, "hand")
        print(notice.text)
        return 0
    tests = tester.tests()
    if not tests:
        from engine.abpower import told

        print("no A/B tests yet: publish with --ab-test, or tap Publish in the bot")
        print(told(tester.power()))
    for test in tests:
        if args.test in (None, test.id):
            print(abreport.summary(tester, test, now), end="\n\n")
    return 0


def _cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timezone

    from engine.stats import gather, stats_chart, stats_text

    if not 1 <= args.days <= 3650:
        raise InputError("--days is between 1 and 3650")
    figures = gather(open_store(settings), args.days, datetime.now(timezone.utc), settings.hf_budget_usd)
    print(stats_text(figures))
    if args.chart:
        print(f"chart: {stats_chart(figures, args.chart)}")
    return 0


def request_arguments(parser: argparse.ArgumentParser) -> None:
    """What a job asks for: the arguments `make` and `submit` share."""
    parser.add_argument("topic", nargs="?", default="", help="what the video is about (at most 500 characters)")
    parser.add_argument("--preset", default="military-history", help="channel preset (see `videofactory presets`)")
    parser.add_argument("--script-file", type=Path, help="your own script as UTF-8 text; paragraphs become scenes")
    parser.add_argument("--voiceover", type=Path, help="your own narration (wav, mp3, ogg, m4a) instead of TTS")
    parser.add_argument("--length", choices=("short", "medium", "long"), help="outline length (default: the preset's)")
    parser.add_argument("--minutes", type=int, help="a long video of about this many minutes (1-60), in chapters "
                        "(default: the preset's `minutes`, if any)")
    parser.add_argument("--fresh", action="store_true", help="ignore the cache and compute everything again")
    parser.add_argument("--language", help="language code of the narration (default: the preset's), e.g. en, ru")
    parser.add_argument("--voice", help="a Piper voice: a hub name such as ru_RU-dmitri-medium (fetched on first use), "
                        "joe (the bundled English one) or an .onnx file (default: the preset's, or the language's own)")
    parser.add_argument("--captions", choices=CAPTION_KINDS, help="burned-in caption style (default: the preset's)")
    parser.add_argument("--export", help="also render for: youtube, shorts, tiktok, reels, feed, square "
                        "(comma separated; default: the preset's)")


def _add_making(commands: argparse._SubParsersAction) -> None:
    """`make`, `words` and `resume`: the commands that make things."""
    make = commands.add_parser("make", help="make a video from a topic, a script file or a voice-over")
    request_arguments(make)
    make.add_argument("--output", type=Path, help="output folder (default $VF_OUTPUT_DIR or ./output)")
    make.set_defaults(handler=_cmd_make)

    timing = commands.add_parser("words", help="print the word timings of a recording")
    timing.add_argument("audio", type=Path, help="the recording (wav, mp3, ogg, m4a, or a video)")
    timing.add_argument("--script", type=Path, help="the text that is spoken: its words are timed, as written")
    timing.add_argument("--language", help="language code (default: the preset's)")
    timing.add_argument("--preset", default="military-history", help="preset whose voice and language to use")
    timing.add_argument("--json", action="store_true", help="JSON instead of a table")
    timing.set_defaults(handler=_cmd_words)

    resume = commands.add_parser("resume", help="go on with jobs paused (tokens ran out) or interrupted (killed)")
    resume.add_argument("--wait", action="store_true", help="wait until a token is back, then go on")
    resume.set_defaults(handler=_cmd_resume)


def _add_managing(commands: argparse._SubParsersAction) -> None:
    """`presets`, `tokens`, `thumbnails`, `youtube`, `abtest` and `stats`: looking after what was made."""
    presets = commands.add_parser("presets", help="list the channel presets, or check one file")
    presets.add_argument("action", nargs="?", choices=("list", "validate"), default="list")
    presets.add_argument("file", nargs="?", type=Path, help="with validate: the preset file to check")
    presets.set_defaults(handler=_cmd_presets)

    cache = commands.add_parser("cache", help="how big the cache is, or remove what has not been used for a while")
    cache.add_argument("action", nargs="?", choices=("status", "prune"), default="status")
    cache.add_argument("--older-than", help="with prune: entries unused for this long (30d, 12h, 2w)")
    cache.add_argument("--max-size", help="with prune: the least recently used go until the cache is under this (20G)")
    cache.set_defaults(handler=_cmd_cache)

    tokens = commands.add_parser("tokens", help="each Hugging Face account's balance (measured or estimated) and tokens")
    tokens.add_argument("--check", action="store_true", help="ask the hub who each token belongs to now, "
                        "not at most once a day")
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
    youtube.add_argument("--channel", help="auth: keep these credentials as this channel's own (its name here); "
                                           "publish: publish to it (default: the preset's youtube.channel)")
    youtube.add_argument("--client-secrets", type=Path, help="auth --channel: the channel's own OAuth client file "
                                                              "(its own Google Cloud project and quota)")
    youtube.add_argument("--testing-app", action="store_true", help="auth --channel: the OAuth app is in Testing "
                                                                     "(its authorisations end after 7 days)")
    youtube.add_argument("--privacy", choices=("private", "unlisted", "public"), default="private")
    youtube.add_argument("--at", help="schedule: publish at this time (ISO 8601, e.g. 2026-12-01T18:00+01:00)")
    youtube.add_argument("--ab-test", action="store_true", help="then test the three thumbnails against each other")
    youtube.set_defaults(handler=_cmd_youtube)

    abtest = commands.add_parser("abtest", help="A/B tests of thumbnails or titles: list, move on, stop, pick, "
                                                "test titles, or say how likely a test is to find a better thumbnail")
    abtest.add_argument("action", nargs="?", choices=("list", "tick", "stop", "pick", "titles", "power"), default="list")
    abtest.add_argument("test", nargs="?", type=int, help="the test's number")
    abtest.add_argument("variant", nargs="?", type=int, help="with pick: the winning variant")
    abtest.add_argument("--video", help="with titles: the YouTube video ID")
    abtest.add_argument("--title", action="append", default=[],
                        help="with titles: a title to test (twice or more; the video's own first)")
    abtest.add_argument("--channel", help="with power: the named channel (default: the one authorisation)")
    abtest.set_defaults(handler=_cmd_abtest)

    stats = commands.add_parser("stats", help="videos made, time per stage, pictures, tokens, A/B tests, failures")
    stats.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    stats.add_argument("--chart", type=Path, help="also draw the chart into this PNG file")
    stats.set_defaults(handler=_cmd_stats)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand, the front ends' included."""
    parser = argparse.ArgumentParser(prog="videofactory", description="Turn a topic into a finished video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_making(commands)
    _add_managing(commands)
    add_queue_commands(commands, request_arguments)
    add_voice_commands(commands)
    add_shot_commands(commands)
    add_plan_commands(commands)
    for front_end in entry_points(group="videofactory.commands"):
        front_end.load()(commands)  # e.g. `bot`: the engine never imports a front end
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
    except VideoFactoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume where it stopped", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; the input is too large for this machine", file=sys.stderr)
        return 2
    except Exception as error:  # the edge: anything we did not foresee is one line here, the traceback with -v
        if args.verbose:
            log.error("unexpected error", exc_info=error)
        print(f"error: something went wrong on our side ({type(error).__name__}); run with -v to see the details",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
