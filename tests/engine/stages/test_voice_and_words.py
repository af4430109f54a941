"""The real voice and recogniser: Piper's bundled voice and faster-whisper's bundled tiny.en."""


import numpy as np
import pytest

from engine.cache import Cache
from engine.media import read_wav
from engine.models import Narration, Scene, Script, Word
from engine.presets import VoiceStyle
from engine.stages.voice import PiperTTS, narrate, speakable_pieces
from engine.stages.words import FasterWhisperASR, align_to_script, recognise, time_words

TEXT = "The siege of Leningrad lasted 872 days. Hunger took more lives than the bombs did."


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voice")
    script = Script("t", "t", "en", (Scene(0, TEXT, "p", "calm"), Scene(1, "Then spring came.", "p", "uplifting")), "own-text")
    items = []
    narration = narrate(script, PiperTTS(VoiceStyle()), Cache(folder / "cache"), folder / "narration.wav", items.append)
    return script, narration, items, folder


def test_piper_narration_has_every_written_word_timed(spoken):
    script, narration, items, _ = spoken
    assert items == [False, False]
    assert narration.words is not None
    assert [w.text for w in narration.words] == TEXT.split() + ["Then", "spring", "came."]
    samples, rate = read_wav(narration.audio)
    assert rate == 22050 and abs(len(samples) / rate - narration.duration) < 1e-6
    assert all(a.end <= b.start + 1e-9 for a, b in zip(narration.words, narration.words[1:]))
    # Each word's span holds sound; the scene gap between the two scenes is silent.
    for word in narration.words:
        chunk = samples[int(word.start * rate) : int(word.end * rate)]
        assert np.abs(chunk).max() > 0.05, word
    gap = samples[int(narration.words[14].end * rate) + 800 : int(narration.words[15].start * rate) - 800]
    assert np.abs(gap).max() < 0.02


def test_narration_chunks_come_from_the_cache_the_second_time(spoken):
    script, _, _, folder = spoken
    items = []
    narrate(script, PiperTTS(VoiceStyle()), Cache(folder / "cache"), folder / "again.wav", items.append)
    assert items == [True, True]


def test_whisper_words_align_to_the_script_spelling(spoken):
    script, narration, _, folder = spoken
    heard = recognise(narration.audio, "en", FasterWhisperASR(), Cache(folder / "cache"))
    assert len(heard) >= 12
    aligned = align_to_script(script, heard, narration.duration)
    assert [w.text for w in aligned] == [w.text for w in narration.words]  # "872" spelled as written
    starts = np.array([w.start for w in aligned])
    reference = np.array([w.start for w in narration.words])
    assert np.median(np.abs(starts - reference)) < 0.25  # Whisper agrees with Piper's own timing
    assert all(a.start <= b.start for a, b in zip(aligned, aligned[1:]))


def test_a_voiceover_is_timed_to_the_script_within_tens_of_milliseconds(spoken, tmp_path):
    """Another reading (faster, with its own rhythm) timed by Whisper, then warped and snapped."""
    script, _, _, folder = spoken
    reading = narrate(
        script, PiperTTS(VoiceStyle(speed=1.15), duration_noise=0.8), Cache(tmp_path / "cache"),
        tmp_path / "voiceover.wav",
    )
    voiceover = Narration(reading.audio, reading.duration, reading.sample_rate, "voiceover", None)
    timed = time_words(script, voiceover, "auto", FasterWhisperASR(), Cache(folder / "cache"), PiperTTS(VoiceStyle()))
    assert timed.backend == "faster-whisper+warp"
    assert [w.text for w in timed.words] == [w.text for w in reading.words]
    starts = np.abs(np.array([w.start for w in timed.words]) - [w.start for w in reading.words])
    ends = np.abs(np.array([w.end for w in timed.words]) - [w.end for w in reading.words])
    assert np.median(starts) < 0.04 and np.median(ends) < 0.04
    assert starts.max() < 0.25 and ends.max() < 0.25
    assert all(a.end <= b.start + 1e-9 for a, b in zip(timed.words, timed.words[1:]))


def test_a_misheard_word_does_not_move_the_words_after_it():
    script = Script("t", "t", "en", (Scene(0, "The siege of Leningrad lasted long.", "p", "calm"),), "own-text")
    heard = (
        Word("The", 0.0, 0.2), Word("siege", 0.3, 0.6), Word("of", 0.65, 0.75),
        Word("Lenin", 0.8, 1.1), Word("grad", 1.1, 1.5), Word("lasted", 1.6, 2.0), Word("long.", 2.1, 2.5),
    )
    aligned = align_to_script(script, heard, 3.0)
    assert [w.text for w in aligned] == ["The", "siege", "of", "Leningrad", "lasted", "long."]
    assert (aligned[3].start, aligned[3].end) == (0.75, 1.6)  # the gap between its neighbours
    assert [(w.start, w.end) for w in aligned[4:]] == [(1.6, 2.0), (2.1, 2.5)]  # untouched
    assert aligned[3].confidence == 0.0


def test_an_over_long_sentence_is_read_in_pieces_and_a_normal_text_whole():
    normal = "The convoy crossed at night. Drivers kept their doors open, ready to jump."
    assert speakable_pieces(normal) == [normal]  # read as Piper reads it: nothing changes for normal text
    endless = " ".join(f"word{k}," if k % 25 == 24 else f"word{k}" for k in range(400))
    pieces = speakable_pieces(endless + ". A short one.")
    assert max(len(piece.split()) for piece in pieces) <= 40
    assert " ".join(pieces).split() == (endless + ". A short one.").split()  # every word, in order
    assert pieces[0].endswith("word24,")  # cut after a clause, once half the limit is reached


def test_a_recording_heard_in_windows_keeps_every_word(spoken, monkeypatch):
    import engine.stages.words

    script, narration, _, folder = spoken
    monkeypatch.setattr(engine.stages.words, "ASR_WINDOW_SECONDS", narration.duration / 2.5)  # three windows
    heard = FasterWhisperASR().transcribe(narration.audio, "en")
    aligned = align_to_script(script, heard, narration.duration)
    starts = np.array([w.start for w in aligned])
    reference = np.array([w.start for w in narration.words])
    assert len(heard) >= 12 and np.median(np.abs(starts - reference)) < 0.25  # times are the recording's, not the window's


def test_the_lexicon_changes_what_is_said_and_the_captions_keep_what_is_written(tmp_path):
    lexicon = {"Zhukov": "Zhookoff", "USSR": "U S S R"}
    respelled = PiperTTS(VoiceStyle(lexicon=lexicon)).speak("Zhukov led the USSR army.", tmp_path / "a.wav")
    direct = PiperTTS(VoiceStyle()).speak("Zhookoff led the U S S R army.", tmp_path / "b.wav")
    assert np.array_equal(read_wav(respelled.audio)[0], read_wav(direct.audio)[0])  # the spoken form reached Piper
    assert [w.text for w in respelled.words] == ["Zhukov", "led", "the", "USSR", "army."]  # the written form is timed
    assert respelled.words[3].end - respelled.words[3].start > direct.words[3].end - direct.words[3].start  # "U S S R"


def test_a_pause_after_each_sentence_moves_the_later_words_by_it(tmp_path):
    plain = PiperTTS(VoiceStyle()).speak("The ice held. The trucks crossed.", tmp_path / "a.wav")
    paused = PiperTTS(VoiceStyle(sentence_pause=0.6)).speak("The ice held. The trucks crossed.", tmp_path / "b.wav")
    assert abs(paused.duration - plain.duration - 0.6) < 0.01
    assert abs(paused.words[3].start - plain.words[3].start - 0.6) < 0.01 and paused.words[0] == plain.words[0]
