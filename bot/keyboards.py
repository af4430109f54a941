"""Inline keyboards, as pure functions of what they show: testable without Telegram.

Callback data is "<action>:<arguments>"; each handler module matches its own actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

LENGTHS = {"short": "Short (~1 min)", "medium": "Medium (~3 min)", "long": "Long (~8 min)"}
DOCUMENTARY_MINUTES = (10, 20, 30)  # long videos in chapters
PRIVACY_BUTTONS = (("🔒 Private", "private"), ("🔗 Unlisted", "unlisted"), ("🌍 Public + A/B test", "public"))


def keyboard(rows: Iterable[Iterable[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data) as an inline keyboard."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows])


def presets_keyboard(presets: dict[str, str]) -> InlineKeyboardMarkup:
    """One button per preset, with the start of its description."""
    return keyboard([[(f"{name} · {text[:40]}", f"preset:{name}")] for name, text in presets.items()])


def options_keyboard(own_files: bool) -> InlineKeyboardMarkup:
    """The last step: make it now, choose a length (unless the user's own files set it), or another preset."""
    rows = [[("▶ Make it", "go:-")]]
    if not own_files:
        rows.append([(label, f"go:{length}") for length, label in LENGTHS.items()])
        rows.append([(f"{minutes} min, chapters", f"go:{minutes}m") for minutes in DOCUMENTARY_MINUTES])
    rows.append([("Another preset", "pick")])
    return keyboard(rows)


def thumbnails_keyboard(job_id: int, count: int) -> InlineKeyboardMarkup:
    """Approve one of a job's thumbnails, or ask for a new set."""
    return keyboard([[(f"Use {k}", f"thumb:{job_id}:{k}") for k in range(1, count + 1)],
                     [("🔄 New designs", f"regen:{job_id}")]])


def publish_keyboard(job_id: int) -> InlineKeyboardMarkup:
    """The privacy to publish a job's video with, one button each."""
    return keyboard([[(text, f"pub:{job_id}:{privacy}") for text, privacy in PRIVACY_BUTTONS]])


def settings_keyboard() -> InlineKeyboardMarkup:
    """Which default to change."""
    return keyboard([[("Preset", "set:preset"), ("Language", "set:language"), ("Captions", "set:captions")],
                     [("Voice", "voices"), ("Review pictures", "set:review")]])


def voices_keyboard(voices: Sequence[str]) -> InlineKeyboardMarkup:
    """One row per voice: choose it, or hear a sample; and "the language's own"."""
    rows = [[(voice, f"setv:voice:{voice}"), ("🔊", f"vsample:{voice}")] for voice in voices]
    rows.append([("the language’s own", "setv:voice:-")])
    return keyboard(rows)


def review_keyboard(job_id: int, replaceable: Sequence[int]) -> InlineKeyboardMarkup:
    """A button per shot that can take its next picture, five to a row, then "Render"."""
    swaps = [(f"🔁 {n}", f"review:{job_id}:{n}") for n in replaceable]
    return keyboard([*(swaps[k:k + 5] for k in range(0, len(swaps), 5)), [("✅ Render", f"review:{job_id}:ok")]])


def choices_keyboard(what: str, choices: Sequence[str]) -> InlineKeyboardMarkup:
    """The values of one default, four to a row, and "none" (the preset's, or ask each time)."""
    rows = [[(value, f"setv:{what}:{value}") for value in choices[k:k + 4]] for k in range(0, len(choices), 4)]
    rows.append([("ask each time" if what == "preset" else "the preset’s", f"setv:{what}:-")])
    return keyboard(rows)
