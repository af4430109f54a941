"""A long script written chapter by chapter: the plan first, then each chapter with the plan and what came before."""

from __future__ import annotations

import json

from engine.presets import load_preset
from engine.stages import longform
from engine.stages.chapter_writer import chaptered_llm_script
from tests.hf_server import DocumentaryWriter


def _asker(writer: DocumentaryWriter, log: list[list[dict]]):  # noqa: ANN202
    def ask(messages: list[dict[str, str]]) -> str:
        log.append(messages)
        return writer({"messages": messages})

    return ask


def test_each_chapter_is_its_own_call_with_the_plan_and_the_previous_chapters_last_lines():
    writer, log = DocumentaryWriter(chapters=4), []
    preset = load_preset("military-history", None)
    script = chaptered_llm_script("The Road of Life", preset, 10, _asker(writer, log))
    assert writer.asked == ["outline", 1, 2, 3, 4]
    assert script.chapters == tuple(f"Chapter title {n}" for n in range(1, 5)) and script.source == "llm"
    assert [scene.index for scene in script.scenes] == list(range(len(script.scenes)))
    assert {scene.chapter for scene in script.scenes} == {0, 1, 2, 3}
    third = log[3][1]["content"]
    assert "Write chapter 3 of 4" in third and "4. Chapter title 4: What happened in part 4." in third
    last_of_second = [s for s in script.scenes if s.chapter == 1][-1].narration
    assert last_of_second.split(".")[-2].strip() in third  # the previous chapter's last line is given
    assert next(s for s in script.scenes if s.chapter == 1).lower_third == "1942-01-24, Lake Ladoga"
    plan = longform.chapter_plan(10, 12)
    words = sum(len(s.narration.split()) for s in script.scenes)
    assert abs(words - plan.words) <= 0.1 * plan.words


def test_a_chapter_of_the_wrong_length_is_sent_back_with_its_count():
    writer, log = DocumentaryWriter(chapters=3), []
    short = json.dumps({"scenes": [{"narration": "Far too short a chapter for ten minutes.", "image_prompt": "x y z",
                                    "mood": "calm"}]})
    replies = iter([None, short])

    def ask(messages: list[dict[str, str]]) -> str:
        log.append(messages)
        reply = next(replies, None)
        return reply or writer({"messages": messages})

    script = chaptered_llm_script("The Road of Life", load_preset("military-history", None), 10, ask)
    complaint = log[2][-1]["content"]
    assert "valid, but its narration has 8 words" in complaint and "between" in complaint
    assert len(script.chapters) == 3 and len(log) == 5  # the plan, the short chapter, its retry, two more
