"""A backlog of topics per channel: added one by one or from a file, listed, removed; a topic made before refused.

A topic is refused when the channel already has it planned or made: the same words (normalised), or,
where the `ml` extra is installed, the same meaning by the bundled sentence embeddings.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from engine.errors import InputError
from engine.stages.relevance import EmbeddingRelevance, ShotText, make_relevance, terms
from engine.store import Store
from engine.tables import PlannedVideo, utcnow

MAX_TOPIC_CHARS = 200
SAME_WORDS = 0.6  # Jaccard of the normalised words: "Siege of Leningrad" and "The Leningrad siege" are one topic
LENGTHS = ("short", "medium", "long")
SAME_MEANING = 0.8  # cosine of the sentence embeddings, where they are installed


class PlanState(StrEnum):
    """Where a planned video stands."""

    IDEA = "idea"  # suggested by the language model, not yet accepted
    BACKLOG = "backlog"  # waiting for its day
    MAKING = "making"  # its job runs
    REVIEW = "review"  # made, sent to the chat for approval
    APPROVED = "approved"  # to be uploaded, scheduled for its time
    UPLOADED = "uploaded"  # on YouTube; its captions or thumbnail are still to be set
    SCHEDULED = "scheduled"  # on YouTube, private until its publishAt
    PUBLISHED = "published"  # its time has come
    HELD = "held"  # not approved by its deadline: kept, not published
    FAILED = "failed"
    REMOVED = "removed"


LIVE = (PlanState.BACKLOG, PlanState.MAKING, PlanState.REVIEW, PlanState.APPROVED, PlanState.UPLOADED, PlanState.SCHEDULED,
        PlanState.PUBLISHED, PlanState.HELD)  # what counts as "planned or made" for repeats


@dataclass(frozen=True)
class PlanLine:
    """One topic to add, as a line or a CSV row gives it."""

    topic: str
    preset: str | None = None
    length: str | None = None
    publish_at: datetime | None = None


@cache
def _stemmer(language: str):  # noqa: ANN202 - snowballstemmer's Stemmer
    import snowballstemmer

    return snowballstemmer.stemmer(language)


def _stem(word: str) -> str:
    # Snowball's stemmers (snowballstemmer, as Sphinx's search uses): "skies" and "sky" are one word, and so are
    # «блокады» and «блокада»; a Cyrillic word by the Russian rules, any other by the English ones.
    return _stemmer("russian" if re.search("[а-яё]", word) else "english").stemWord(word)


def normalised(topic: str) -> frozenset[str]:
    """A topic's words that carry meaning, lower case and stemmed (plurals and cases folded), its numbers kept."""
    return frozenset({_stem(word) for word in terms(topic) if not word.isdigit()}) | numbers_of(topic)


def numbers_of(topic: str) -> frozenset[str]:
    """The numbers in a topic: "Apollo 11" and "Apollo 13", "World War 1" and "2" are different videos."""
    return frozenset(str(int(number)) for number in re.findall(r"\d+", topic))


def numbers_differ(a: str, b: str) -> bool:
    """Whether both topics have numbers, and not the same ones: then they are different videos, whatever else."""
    x, y = numbers_of(a), numbers_of(b)
    return bool(x and y) and x != y


def same_words(a: str, b: str) -> bool:
    """Whether two topics are the same by their normalised words (never when their numbers differ)."""
    if numbers_differ(a, b):
        return False
    x, y = normalised(a), normalised(b)
    return bool(x and y) and len(x & y) / len(x | y) >= SAME_WORDS


def _earlier(topic: str, by_numbers: dict[frozenset[str], list[str]]) -> list[str]:
    """The topics it could repeat: those with its numbers or none (all of them, for a topic without numbers)."""
    numbers = numbers_of(topic)
    if not numbers:
        return [old for group in by_numbers.values() for old in group]
    return by_numbers.get(numbers, []) + (by_numbers.get(frozenset(), []))


def repeats(topics: list[str], made: list[str]) -> list[str | None]:
    """For each new topic, the planned or made topic it repeats (or an earlier one of the new), else None.

    Topics are grouped by their numbers, so ten thousand numbered topics are not compared pair by pair.
    """
    by_numbers: dict[frozenset[str], list[str]] = {}
    for old in made:
        by_numbers.setdefault(numbers_of(old), []).append(old)
    found: list[str | None] = []
    for topic in topics:
        found.append(next((old for old in _earlier(topic, by_numbers) if same_words(topic, old)), None))
        by_numbers.setdefault(numbers_of(topic), []).append(topic)
    waiting = [k for k, hit in enumerate(found) if hit is None]
    if made and waiting and isinstance(make_relevance(), EmbeddingRelevance):
        scores = EmbeddingRelevance().scores([ShotText(topics[k], topics[k]) for k in waiting], [made] * len(waiting))
        for k, row in zip(waiting, scores):
            alike = [i for i in range(len(made)) if not numbers_differ(made[i], topics[k])]
            best = max(alike, key=lambda i: row[i], default=None)
            found[k] = made[best] if best is not None and row[best] >= SAME_MEANING else None
    return found


MAX_PLAN_BYTES = 4 * 1000 * 1000  # twenty thousand topics of two hundred characters


def read_plan_file(path: Path) -> list[PlanLine]:
    """The topics of a plan file, checked before it is read: a plain file (a FIFO or /dev/zero is never read),
    of a sensible size, UTF-8 text."""
    try:
        if not path.is_file():
            raise InputError(f"{path.name} does not exist or is not a plain file")
        if path.stat().st_size > MAX_PLAN_BYTES:
            raise InputError(f"{path.name} is over {MAX_PLAN_BYTES // 1_000_000} MB: a plan is a list of topics")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(f"cannot read {path.name}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not UTF-8 text") from None
    return parse_plan_file(text)


def parse_plan_file(text: str) -> list[PlanLine]:
    """One topic per line, or CSV with a header naming topic (and preset, length, publish_at)."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if "topic" in first.lower() and "," in first:
        return [_row(row, n) for n, row in _csv_rows(text) if (row.get("topic") or "").strip()]
    return [PlanLine(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """The CSV's rows with the line each starts on; a quote left open is an error naming its line, not a topic."""
    reader = csv.reader(io.StringIO(text), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    start = 1
    try:
        header = next(reader)
        while True:
            start = reader.line_num + 1
            values = next(reader, None)
            if values is None:
                return rows
            rows.append((start, dict(zip(header, values))))
    except csv.Error as error:
        raise InputError(f"line {start}: the CSV does not read ({error}); is a quote left open?") from None


def _row(row: dict[str, str], number: int) -> PlanLine:
    length = (row.get("length") or "").strip() or None
    if length is not None and length not in LENGTHS:
        raise InputError(f"line {number}: length is one of {', '.join(LENGTHS)}, not '{length}'")
    when = (row.get("publish_at") or row.get("publish time") or "").strip()
    try:
        at = datetime.fromisoformat(when) if when else None
    except ValueError:
        raise InputError(f"line {number}: '{when}' is not a time such as 2026-12-05T18:00+01:00") from None
    if at is not None and at.tzinfo is None:
        raise InputError(f"line {number}: give the time zone of {when}, such as +01:00 or Z")
    return PlanLine(row["topic"].strip(), (row.get("preset") or "").strip() or None, length, at)


class TopicIdeas(BaseModel):
    """What the language model is asked to answer: new topics for the channel."""

    topics: list[str] = Field(min_length=1, max_length=20)


def ideas_messages(niche: str, covered: list[str], count: int) -> list[dict[str, str]]:
    """The chat that asks for `count` new topics in a channel's niche, none of those it covered."""
    done = "\n".join(f"- {topic}" for topic in covered[-60:]) or "- (nothing yet)"
    return [{"role": "system", "content": "You plan videos for a faceless YouTube channel. Answer with JSON only."},
            {"role": "user", "content": f"The channel's niche: {niche}\nIt has covered or planned:\n{done}\n\n"
                                        f"Suggest {count} new video topics in this niche that it has not covered, "
                                        f"each a short specific title of at most 80 characters. "
                                        f'Answer as {{"topics": ["…", …]}}.'}]


def topic_ideas(ask: Callable[[list[dict[str, str]]], str], niche: str, covered: list[str], count: int = 10) -> list[str]:
    """New topics from the language model, its answer checked (and asked again when it does not fit)."""
    from engine.stages.script import ask_valid

    reply = ask_valid(ask, ideas_messages(niche, covered, count), TopicIdeas)
    return [" ".join(topic.split())[:MAX_TOPIC_CHARS] for topic in reply.topics if topic.strip()][:count]


class PlanBook:
    """The channels' planned videos, in the database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, plan_id: int) -> PlannedVideo | None:
        """One planned video."""
        return self.store.get(PlannedVideo, plan_id)

    def find(self, channel: str | None = None, states: tuple[PlanState, ...] | None = None) -> list[PlannedVideo]:
        """Planned videos, oldest first; of one channel, in some states."""
        query = select(PlannedVideo).order_by(PlannedVideo.id)
        if channel is not None:
            query = query.where(PlannedVideo.channel == channel)
        if states is not None:
            query = query.where(col(PlannedVideo.state).in_([str(s) for s in states]))
        with Session(self.store.engine) as session:
            return list(session.exec(query))

    def add(self, channel: str, lines: list[PlanLine], now: datetime | None = None,
            state: PlanState = PlanState.BACKLOG) -> tuple[list[PlannedVideo], list[str]]:
        """Add topics to a channel's backlog (or as ideas); the added rows, and a sentence for each repeat refused."""
        now = now or utcnow()
        for line in lines:
            if not line.topic.strip():
                raise InputError("give a topic: an empty one cannot be planned")
            if len(line.topic) > MAX_TOPIC_CHARS:
                raise InputError(f"a topic is at most {MAX_TOPIC_CHARS} characters; «{line.topic[:40]}…» has "
                                 f"{len(line.topic)}")
            if line.publish_at is not None and line.publish_at <= now:
                raise InputError(f"«{line.topic.strip()}» is to go public at {line.publish_at.isoformat()}, which has "
                                 f"passed: give a later time, or none for the channel's next free one")
        made = [row.topic for row in self.find(channel, (*LIVE, PlanState.IDEA))]
        added, refused = [], []
        for line, repeat in zip(lines, repeats([line.topic for line in lines], made)):
            if repeat is not None:
                refused.append(f"«{line.topic}» repeats «{repeat}», already planned or made for {channel}")
                continue
            at = line.publish_at.astimezone(timezone.utc) if line.publish_at else None
            added.append(PlannedVideo(channel=channel, topic=line.topic.strip(), preset=line.preset, length=line.length,
                                      state=str(state), publish_at=at, slot=at, added=now, changed=now))
        with Session(self.store.engine, expire_on_commit=False) as session:  # one write, however many topics
            session.add_all(added)
            session.commit()
        return added, refused


    def move(self, plan_id: int, to: PlanState, now: datetime, **values: object) -> PlannedVideo:
        """A planned video moved on, with what else changed."""
        row = self.get(plan_id)
        if row is None:
            raise InputError(f"there is no planned video #{plan_id}")
        row.state, row.changed = str(to), now
        for name, value in values.items():
            setattr(row, name, value)
        return self.store.add(row)  # type: ignore[return-value]

    def accept(self, plan_id: int, now: datetime | None = None) -> PlannedVideo:
        """An idea the owner wants: into the backlog."""
        row = self.get(plan_id)
        if row is None or row.state != PlanState.IDEA:
            raise InputError(f"#{plan_id} is not an idea waiting to be accepted")
        return self.move(plan_id, PlanState.BACKLOG, now or utcnow())

    def remove(self, plan_id: int, now: datetime | None = None) -> PlannedVideo:
        """Take a topic out of the plan (one already on YouTube stays there)."""
        row = self.get(plan_id)
        if row is None or row.state == PlanState.REMOVED:
            raise InputError(f"there is no planned video #{plan_id}")
        if row.state in (PlanState.SCHEDULED, PlanState.PUBLISHED):
            raise InputError(f"#{plan_id} is already on YouTube ({row.video_id}); remove it there")
        return self.move(plan_id, PlanState.REMOVED, now or utcnow())
