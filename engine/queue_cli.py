"""`videofactory worker`, `submit`, `jobs` and `wait`: jobs on the queue (VF_BROKER_URL) from the command line."""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import time
from pathlib import Path

from engine.config import Settings
from engine.errors import ConfigError, InputError
from engine.jobs import Cancelled, Done, Failed, Origin, Paused
from engine.models import JobRequest
from engine.store import open_store


def shared_copy(settings: Settings, path: Path | None) -> Path | None:
    """An input file copied into the data dir, which every worker mounts; the copy goes when its job is done."""
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    folder = settings.data_dir / "inputs" / "submitted" / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(path, folder / path.name))


def _cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    from engine.queue_runner import QueueRunner
    from engine.stages.exports import parse_exports

    if not settings.broker_url:
        raise ConfigError("submit puts jobs on a queue: set VF_BROKER_URL=redis://host:6379/0 "
                          "(or make the video here with `videofactory make`)")
    request = JobRequest(
        topic=args.topic or "", preset=args.preset, script_file=shared_copy(settings, args.script_file),
        voiceover=shared_copy(settings, args.voiceover), length=args.length, minutes=args.minutes, voice=args.voice,
        fresh=args.fresh,
        language=args.language, caption_style=args.captions,
        exports=parse_exports(args.export) if args.export else None, review=False,  # reviewed after, as by `make`
    )
    runner = QueueRunner(settings, open_store(settings), "cli")
    try:
        print(runner.submit(request, Origin("cli")).id)
    except BaseException:
        for copy in (request.script_file, request.voiceover):  # nothing was queued: our copies go too
            if copy is not None:
                shutil.rmtree(copy.parent, ignore_errors=True)
        raise
    return 0


def _cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from engine.jobs import JobBook

    jobs = JobBook(open_store(settings)).find(limit=args.limit, newest_first=True)
    if not jobs:
        print("no jobs yet")
    for job in jobs:
        where = f"{job.stage} {job.stage_done / job.stage_total:.0%}" if job.stage and job.stage_total else ""
        print(f"{job.id:>5}  {job.state:<9} {job.preset:<18} {job.topic[:40]:<40} {where}{job.error or ''}")
    return 0


def _cmd_wait(args: argparse.Namespace, settings: Settings) -> int:
    from engine.jobs import JobBook
    from engine.queue_runner import outcome_of

    book = JobBook(open_store(settings))
    if book.get(args.job) is None:
        raise InputError(f"there is no job {args.job}")
    while (outcome := outcome_of(book.get(args.job))) is None or isinstance(outcome, Paused) and not args.paused:  # type: ignore[arg-type]
        time.sleep(1.0)
    match outcome:
        case Done(artefacts):
            print(artefacts.folder)
            return 0
        case Failed(reason, exit_code):
            print(f"error: {reason}", file=sys.stderr)
            return exit_code
        case Cancelled():
            print("cancelled", file=sys.stderr)
            return 1
        case Paused(reason):
            print(f"paused: {reason}", file=sys.stderr)
            return 75
    return 1


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from engine.queue import run_worker

    run_worker(settings, args.concurrency)
    return 0


def add_queue_commands(commands: argparse._SubParsersAction, request_arguments) -> None:  # noqa: ANN001
    """`worker`, `submit`, `jobs` and `wait`."""
    worker = commands.add_parser("worker", help="run jobs from the queue (VF_BROKER_URL) until stopped")
    worker.add_argument("--concurrency", type=int, default=1, help="jobs at once in this worker (default 1)")
    worker.set_defaults(handler=_cmd_worker)
    submit = commands.add_parser("submit", help="put a job on the queue (VF_BROKER_URL); prints its number")
    request_arguments(submit)
    submit.set_defaults(handler=_cmd_submit)
    jobs = commands.add_parser("jobs", help="the latest jobs and their state")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.set_defaults(handler=_cmd_jobs)
    wait = commands.add_parser("wait", help="wait until a job ends; exit 0 only when it is done")
    wait.add_argument("job", type=int)
    wait.add_argument("--paused", action="store_true", help="also return when the job pauses (exit 75)")
    wait.set_defaults(handler=_cmd_wait)
