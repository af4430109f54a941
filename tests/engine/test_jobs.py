"""The job model: its own folder per job, its state machine, cancellation and resumption in the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.jobs import Cancelled, Failed, JobBook, JobState, Origin, Paused, StateConflict, plan_of, request_of
from engine.models import JobRequest
from engine.presets import load_preset
from engine.store import Store, utcnow
from engine.text import slugify


@pytest.fixture
def book(tmp_path: Path) -> JobBook:
    return JobBook(Store(f"sqlite:///{tmp_path / 'jobs.db'}"))


def _new(book: JobBook, topic: str, tmp_path: Path, chat: int | None = None):
    request = JobRequest(topic=topic, preset="science")
    return book.create(request, load_preset("science", None), slugify(topic), Origin("telegram", chat, 5), tmp_path)


def test_topics_whose_old_slugs_collided_get_readable_folders_of_their_own(book: JobBook, tmp_path: Path):
    # The old hand-written slug dropped Cyrillic once any ASCII was present: both were "1941".
    first = _new(book, "Блокада Ленинграда 1941", tmp_path, chat=1)
    second = _new(book, "Битва за Москву (1941)", tmp_path, chat=2)
    again = _new(book, "Битва за Москву (1941)", tmp_path, chat=2)
    assert Path(first.folder).name == f"blokada-leningrada-1941-{first.id}"
    assert Path(second.folder).name == f"bitva-za-moskvu-1941-{second.id}"
    assert len({first.folder, second.folder, again.folder}) == 3  # the same topic twice: two folders
    assert request_of(again).topic == "Битва за Москву (1941)" and (again.chat_id, again.message_id) == (2, 5)


def test_a_job_waiting_for_its_review_is_never_due_and_only_its_paused_request_can_change(book: JobBook, tmp_path: Path):
    from engine.review import AWAITING_REVIEW

    job = _new(book, "Storms", tmp_path)
    book.start(job.id)
    book.end(job.id, Paused(AWAITING_REVIEW, None))
    assert book.due("telegram", utcnow() + timedelta(days=30)) == []  # a restart does not run it on unreviewed
    book.revise(job.id, request_of(job).model_copy(update={"avoid_pictures": ("https://x/a.jpg",)}))
    assert request_of(book.get(job.id)).avoid_pictures == ("https://x/a.jpg",)
    book.requeue(job.id, [JobState.PAUSED])
    with pytest.raises(StateConflict):
        book.revise(job.id, request_of(job))


def test_a_job_is_started_once_and_ends_once(book: JobBook, tmp_path: Path):
    job = _new(book, "Tides", tmp_path)
    running = book.start(job.id)
    assert running.state == JobState.RUNNING and running.attempts == 1 and running.worker
    assert book.start(job.id) is None  # a second worker (or process) cannot take it too
    assert book.end(job.id, Failed("the voice file is missing")).state == JobState.FAILED
    with pytest.raises(StateConflict, match="cannot become done: it is failed"):
        book.move(job.id, JobState.DONE)
    assert not book.cancel(job.id)  # nothing left to stop
    assert book.get(job.id).error == "the voice file is missing"


def test_cancellation_is_a_state_a_running_job_sees(book: JobBook, tmp_path: Path):
    waiting, running = _new(book, "Comets", tmp_path), _new(book, "Geysers", tmp_path)
    assert book.cancel(waiting.id) and book.get(waiting.id).state == JobState.CANCELLED  # at once
    book.start(running.id)
    assert not book.cancel_requested(running.id)
    assert book.cancel(running.id) and book.get(running.id).state == JobState.RUNNING  # between two items…
    assert book.cancel_requested(running.id)  # …which it sees in the database
    ended = book.end(running.id, Cancelled())
    assert ended.state == JobState.CANCELLED and not ended.cancel_requested


def test_a_paused_job_is_due_at_its_resume_time_and_goes_back_to_the_queue(book: JobBook, tmp_path: Path):
    job = _new(book, "Storms", tmp_path)
    book.start(job.id)
    back = utcnow() + timedelta(minutes=5)
    paused = book.end(job.id, Paused("every token is rate-limited", back))
    assert paused.state == JobState.PAUSED and paused.worker is None
    assert book.due("telegram", utcnow()) == []
    assert abs((book.next_resume("telegram") - back).total_seconds()) < 1
    assert [j.id for j in book.due("telegram", back + timedelta(seconds=1))] == [job.id]
    assert book.requeue(job.id, [JobState.PAUSED]) and book.get(job.id).state == JobState.QUEUED
    again = book.start(job.id)
    assert again.attempts == 2 and again.resume_after is None
    assert not plan_of(again, tmp_path).fresh  # a resumed job never ignores its cache


def test_deliveries_are_booked_once_each(book: JobBook, tmp_path: Path):
    job = _new(book, "Auroras", tmp_path)
    for name in ("thumbnails", "video.mp4", "thumbnails", "exports/shorts-1080x1920.mp4"):
        book.delivered(job.id, name)
    assert book.get(job.id).delivered == ["thumbnails", "video.mp4", "exports/shorts-1080x1920.mp4"]


def test_a_relative_output_folder_is_kept_as_an_absolute_one(book: JobBook, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = book.create(JobRequest(topic="Tides", preset="science"), load_preset("science", None), "tides", Origin(),
                      Path("output"))
    assert Path(job.folder) == tmp_path / "output" / f"tides-{job.id}"  # found again from any working folder
