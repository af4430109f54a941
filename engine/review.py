"""Review of a video's pictures before the render: a contact sheet, and shots replaced by the next candidate.

A job asked to be reviewed (`JobRequest.review`, from the chat's `/settings review on` or the preset's
`images.review`) stops after its pictures are chosen: it is paused with AWAITING_REVIEW, its folder
holds `contact-sheet.jpg` and `review.json`. Replacing a shot adds its picture's URL to the request's
`avoid_pictures` and runs the job again: everything up to the pictures comes from the cache, the shot
takes its next candidate, and a new sheet is made. Approving marks the request `reviewed` and runs it
on to the render. `videofactory shots FOLDER --replace N` does the same for a finished video, as a new job.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

from engine.cache import atomic_write_text, translate_os_errors
from engine.errors import InputError, VideoFactoryError
from engine.models import JobRequest

AWAITING_REVIEW = "waiting for its pictures to be reviewed"
SHEET_NAME = "contact-sheet.jpg"
REVIEW_NAME = "review.json"
TILE = (384, 216)
COLUMNS = 4


@dataclass(frozen=True)
class ShotReview:
    """What a person reviews: the sheet, a line per shot, and the shots (numbered from 1) that can take another picture."""

    sheet: Path
    lines: tuple[str, ...]
    replaceable: tuple[int, ...]


@dataclass(frozen=True)
class ShotSource:
    """Where one shot's picture came from, for its line and its tile."""

    picture: Path
    source: str  # "commons", …, or the painter's name
    title: str = ""
    author: str = ""
    licence: str = ""
    url: str = ""  # a real picture's: what `avoid_pictures` lists to replace it

    @property
    def real(self) -> bool:
        """Whether it came from an archive or a library (and so has a next candidate)."""
        return bool(self.url)


class Credited(Protocol):
    """What a shot's credit says of its picture: sources.Credit as picked, records.CreditRecord as kept."""

    source: str
    title: str
    author: str
    licence: str
    url: str
    page: str


def shot_source(picture: Path, credit: Credited | None, painter: str) -> ShotSource:
    """A shot's picture and where it came from: its credit's source, or the painter that made it."""
    if credit is None:
        return ShotSource(picture, painter)
    # A video made before credits kept their file's URL names it by its page, so its line still shows it as real.
    return ShotSource(picture, credit.source, credit.title, credit.author, credit.licence, credit.url or credit.page)


class ReviewWanted(VideoFactoryError):
    """The job stops before the render until its pictures are reviewed; nothing made is lost."""

    def __init__(self, review: ShotReview) -> None:
        super().__init__(AWAITING_REVIEW)
        self.review = review


def shot_lines(shots: list[ShotSource]) -> list[str]:
    """One line per shot: its source, and for a real picture its title, author and licence."""
    return [f"{k:>3}. " + (f"{s.source}: {s.title} — {s.author} — {s.licence}" if s.real else f"painted ({s.source})")
            for k, s in enumerate(shots, 1)]


def contact_sheet(shots: list[ShotSource], font_file: Path, out: Path) -> Path:
    """A grid of the video's pictures, each with its number and source."""
    rows = (len(shots) + COLUMNS - 1) // COLUMNS
    sheet = Image.new("RGB", (COLUMNS * TILE[0], max(1, rows) * TILE[1]), (16, 16, 16))
    font = ImageFont.truetype(str(font_file), 22)
    for k, shot in enumerate(shots):
        x, y = (k % COLUMNS) * TILE[0], (k // COLUMNS) * TILE[1]
        try:
            with Image.open(shot.picture) as opened:
                sheet.paste(opened.convert("RGB").resize((TILE[0] - 4, TILE[1] - 4)), (x + 2, y + 2))
        except OSError:
            pass  # a still the cache no longer holds: its tile stays dark, its label says which
        ImageDraw.Draw(sheet).text((x + 10, y + 8), f"{k + 1} · {shot.source}", font=font, fill=(255, 255, 255),
                                   stroke_width=3, stroke_fill=(0, 0, 0))
    with translate_os_errors(str(out)):
        sheet.save(out, "JPEG", quality=85)
    return out


def write_review(folder: Path, shots: list[ShotSource], font_file: Path) -> ShotReview:
    """The contact sheet and review.json in the video's folder: what the chat is shown, kept for a restart."""
    review = ShotReview(contact_sheet(shots, font_file, folder / SHEET_NAME), tuple(shot_lines(shots)),
                        tuple(k for k, shot in enumerate(shots, 1) if shot.real))
    urls = {k: shot.url for k, shot in enumerate(shots, 1) if shot.real}
    atomic_write_text(folder / REVIEW_NAME, json.dumps(asdict(review) | {"sheet": SHEET_NAME, "urls": urls}, indent=1))
    return review


def read_review(folder: Path) -> tuple[ShotReview, dict[int, str]]:
    """The review a paused job left in its folder, and the URL of each replaceable shot's picture."""
    try:
        data = json.loads((folder / REVIEW_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{folder} holds no review of its pictures") from None
    review = ShotReview(folder / data["sheet"], tuple(data["lines"]), tuple(data["replaceable"]))
    return review, {int(k): url for k, url in data["urls"].items()}


def replaced(request: JobRequest, urls: dict[int, str], shots: list[int]) -> JobRequest:
    """The request with these shots' pictures avoided, so each takes its next candidate (or is painted)."""
    unknown = [n for n in shots if n not in urls]
    if unknown:
        raise InputError(f"shot {unknown[0]} has no real picture to replace; shots with one: "
                         f"{', '.join(map(str, sorted(urls))) or 'none'}")
    avoid = tuple(dict.fromkeys((*request.avoid_pictures, *(urls[n] for n in shots))))
    return request.model_copy(update={"avoid_pictures": avoid})
