"""Music that follows the story: mood accuracy from narration, and the master's loudness per preset.

- Moods: 40 sentences written for this benchmark (10 per mood, none from the tests or the mood
  descriptions), classified by sentence embeddings and by the keyword lexicon.
- Loudness: a 40-second narration by Piper, mixed with each preset's music settings over all four
  moods, brought to the target as the pipeline does (engine/loudness.py), encoded to AAC as the render does, then measured by
  ffmpeg's ebur128 (integrated LUFS, true peak dBTP).

Run: python bench/music.py   (writes bench/results/music.json)
Targets: at least 80% of moods right; -14 LUFS within 1 LU and a true peak at most -1 dBTP.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cache import Cache  # noqa: E402
from engine.media import measure_loudness, run_ffmpeg  # noqa: E402
from engine.models import Scene, Script, Shot, Timeline  # noqa: E402
from engine.presets import VoiceStyle, load_preset, preset_files  # noqa: E402
from engine.stages.moods import EmbeddingMoods, LexiconMoods  # noqa: E402
from engine.stages.music import AAC_PEAK_MARGIN_DB, SynthesisedBeds, master_mix, mix_music, mood_segments  # noqa: E402
from engine.stages.voice import PiperTTS, narrate  # noqa: E402

SENTENCES = {
    "calm": [
        "The monastery sits on a hill above the valley, surrounded by olive trees.",
        "Each spring the shepherds moved their flocks to the high pastures.",
        "Let us start with a simple question: what is a star made of?",
        "The museum keeps the letters in a cool, dark room on the second floor.",
        "For most of the year the harbour was a sleepy place of fishing boats.",
        "The professor spent his evenings reading by the fire.",
        "Rice has been grown on these terraces for more than a thousand years.",
        "The treaty was signed in a small room with a view of the garden.",
        "Water slowly carves the canyon, a millimetre at a time.",
        "The town library opened its doors every morning at nine.",
    ],
    "tense": [
        "The radio went silent, and the crew waited for a signal that never came.",
        "Someone had been inside the apartment, but nothing had been taken.",
        "The guards doubled their patrols, sure that an escape was being planned.",
        "Her car was found with the engine running and the door wide open.",
        "A shadow moved behind the curtain of the empty house.",
        "The message contained only coordinates and a date three days away.",
        "Nobody on the expedition would say what they had seen in the ice cave.",
        "The witness changed her story twice before the trial began.",
        "Every night the knocking returned, always at the same hour.",
        "Intelligence reports warned of an attack, but no one knew where it would come.",
    ],
    "dramatic": [
        "The fortress fell after a week of bombardment, and the garrison was wiped out.",
        "Fire tore through the wooden city, leaving a hundred thousand people homeless.",
        "The plague killed a third of the population in a single summer.",
        "The ship broke in two and sank within minutes in the freezing sea.",
        "Thousands of prisoners died on the forced march through the snow.",
        "The volcano buried the town under a storm of ash and burning rock.",
        "The killer struck again, leaving the city in a state of terror.",
        "Entire families starved as the blockade tightened around them.",
        "The cavalry charge ended in a massacre on the muddy field.",
        "The mine collapsed, trapping two hundred workers underground.",
    ],
    "uplifting": [
        "After forty days at sea, the crew finally saw land and cheered.",
        "The first patient walked out of the hospital, cured.",
        "The village rebuilt the school with their own hands in a single summer.",
        "You are stronger than the excuses you keep telling yourself.",
        "The team proved that the impossible engine could fly.",
        "Freed at last, the prisoners embraced their families at the gate.",
        "The rover landed safely, and a new chapter of exploration began.",
        "Her small idea grew into a movement that changed millions of lives.",
        "The war ended, and the bells rang out across the continent.",
        "Every morning you train is a promise kept to yourself.",
    ],
}
NARRATION = (
    "The convoy left before dawn. Nobody spoke as the trucks rolled onto the frozen lake. "
    "Halfway across, the ice began to crack, and shells fell close behind them. "
    "By morning the first flour reached the city. People who had not eaten for days wept at the sight of bread. "
    "Years later the survivors returned to the shore and planted a memorial garden."
)


def measure_moods() -> dict[str, object]:
    """Accuracy and per-mood recall of both classifiers."""
    texts = [text for mood in SENTENCES for text in SENTENCES[mood]]
    truth = [mood for mood in SENTENCES for _ in SENTENCES[mood]]
    results: dict[str, object] = {"sentences": len(texts)}
    for classifier in (EmbeddingMoods(), LexiconMoods()):
        began = time.perf_counter()
        guessed = classifier.classify(texts)
        seconds = time.perf_counter() - began
        right = [g == t for g, t in zip(guessed, truth, strict=True)]
        results[classifier.name] = {
            "accuracy": round(sum(right) / len(right), 3),
            "recall": {
                mood: round(sum(r for r, t in zip(right, truth, strict=True) if t == mood) / len(SENTENCES[mood]), 2)
                for mood in SENTENCES
            },
            "seconds": round(seconds, 2),
        }
    return results


def measure_loudness_per_preset(folder: Path) -> dict[str, object]:
    """The AAC master's loudness for each preset's music settings."""
    script = Script("b", "b", "en", (Scene(0, NARRATION, "p", "calm"),), "own-text")
    narration = narrate(script, PiperTTS(VoiceStyle()), Cache(folder / "cache"), folder / "narration.wav")
    quarter = narration.duration / 4
    shots = tuple(
        Shot(i, i, i * quarter, (i + 1) * quarter, "p", "zoom_in", mood)  # type: ignore[arg-type]
        for i, mood in enumerate(("tense", "dramatic", "calm", "uplifting"))
    )
    results: dict[str, object] = {"narration_seconds": round(narration.duration, 1)}
    for name in preset_files(None):
        preset = load_preset(name, None)
        style = preset.music
        segments = mood_segments(Timeline(narration.duration, (), shots), min(style.min_segment_seconds, quarter))
        mix = mix_music(narration.audio, segments, style, SynthesisedBeds(), folder / f"{name}-mix.f32")
        master = master_mix(mix, style, AAC_PEAK_MARGIN_DB, folder / f"{name}-master.wav")
        encoded = folder / f"{name}.m4a"
        run_ffmpeg(["-i", str(master), "-c:a", "aac", "-b:a", "192k", "-ar", "48000", str(encoded)], what=encoded.name)
        loudness = measure_loudness(encoded)
        results[name] = {
            "integrated_lufs": loudness.integrated_lufs, "true_peak_dbtp": loudness.true_peak_db,
            "range_lu": loudness.range_lu, "target_lufs": style.loudness_lufs,
        }
    return results


def main() -> None:
    """Measure, print and save."""
    with tempfile.TemporaryDirectory() as tmp:
        results = {"moods": measure_moods(), "loudness": measure_loudness_per_preset(Path(tmp))}
    out = ROOT / "bench" / "results" / "music.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    moods = results["moods"]
    for name in ("embeddings", "lexicon"):
        print(f"moods by {name:<10}: {moods[name]['accuracy']:.0%} right, recall {moods[name]['recall']}")  # type: ignore[index]
    for name, figures in results["loudness"].items():  # type: ignore[union-attr]
        if isinstance(figures, dict):
            print(f"{name:<20} {figures['integrated_lufs']:6.1f} LUFS  true peak {figures['true_peak_dbtp']:5.1f} dBTP")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
