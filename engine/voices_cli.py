"""`videofactory voices`: the voices installed here and those the hub offers, with language, quality and licence."""

from __future__ import annotations

import argparse

from engine.config import Settings
from engine.errors import InputError
from engine.stages.edge_voice import DEFAULT_VOICES
from engine.stages.kokoro_voice import LICENCE as KOKORO_LICENCE
from engine.stages.kokoro_voice import VOICES as KOKORO_VOICES
from engine.voices import NATIVE, InstalledVoice, VoiceHub, VoiceNotHere, bundled_voice



def bundled_line() -> str:
    """The bundled English voice, with the licence and lineage its own model card names."""
    return f"{'joe (bundled)':<30} en_US  medium  1 speaker(s)  {_licence(bundled_voice())}, the offline default for English"


def _licence(voice: InstalledVoice) -> str:
    verdict = {True: "", False: " (not for a monetised channel)", None: " (check the model card)"}[voice.commercial]
    return (voice.licence or "not named") + (f", fine-tuned from {voice.inherited}" if voice.inherited else "") + verdict


def installed_lines(hub: VoiceHub, language: str | None) -> list[str]:
    """One line per voice on this machine, the bundled one first."""
    lines = [bundled_line()] if language in (None, "en") else []
    for voice in hub.installed():
        if language is None or voice.language.split("_")[0] == language:
            default = " · default" if NATIVE.get(voice.language.split("_")[0]) == voice.key else ""
            quality = voice.key.rsplit("-", 1)[-1]
            lines.append(f"{voice.key:<30} {voice.language:<6} {quality:<7} {voice.speakers} speaker(s)  "
                         f"{_licence(voice)}{default}")
    return lines


def offered_lines(hub: VoiceHub, language: str | None, installed: set[str]) -> list[str]:
    """One line per voice the hub offers and this machine lacks."""
    lines = []
    for voice in hub.catalogue():
        if voice.key in installed or (language and voice.language.split("_")[0] != language):
            continue
        default = " · default" if NATIVE.get(voice.language.split("_")[0]) == voice.key else ""
        lines.append(f"{voice.key:<30} {voice.language:<6} {voice.quality:<7} {voice.speakers} speaker(s){default}")
    return lines


def edge_lines(language: str | None, timeout: float = 5.0) -> list[str]:
    """The edge backend's voices: the service's list where it answers, else the default voice per language."""
    import asyncio

    import edge_tts

    try:
        listed = asyncio.run(asyncio.wait_for(edge_tts.list_voices(), timeout))
    except Exception:  # noqa: BLE001 - any failure of an unofficial online service: show what we know
        defaults = {code: voice for code, voice in DEFAULT_VOICES.items() if language in (None, code)}
        return [f"{voice:<30} {code}  default (the service's full list could not be read)"
                for code, voice in defaults.items()]
    return [f"{v['ShortName']:<30} {v['Locale']:<6} {v.get('Gender', '')}" for v in listed
            if language is None or v["Locale"].split("-")[0] == language]


def _cmd_voices(args: argparse.Namespace, settings: Settings) -> int:
    hub = VoiceHub(settings.voices_dir)
    if args.fetch:
        try:
            voice = hub.fetch(args.fetch)
        except VoiceNotHere:
            raise InputError(
                f"the voice hub cannot be reached (HF_HUB_OFFLINE, or no network), so {args.fetch} cannot be "
                f"fetched here; on a machine that reaches huggingface.co run `videofactory voices --fetch "
                f"{args.fetch}`, then copy its voices folder ({settings.voices_dir.name}/ in VF_DATA_DIR) to the "
                "same place here, or name the voice's .onnx file (its .onnx.json beside it) as voice.piper") from None
        print(f"{voice.key}: {voice.language}, {voice.sample_rate} Hz, licence {_licence(voice)}")
        return 0
    print("Installed:")
    print("\n".join(f"  {line}" for line in installed_lines(hub, args.language)) or "  none")
    try:
        offered = offered_lines(hub, args.language, {v.key for v in hub.installed()})
        print(f"On the hub ({len(offered)}, fetched on first use; the licence shows once fetched):")
        print("\n".join(f"  {line}" for line in offered) or "  none for that language")
    except InputError as error:
        print(f"On the hub: {error}")
    print("Edge (online; preset voice.backend = \"edge\", voice.edge = NAME; Microsoft's terms of use apply):")
    print("\n".join(f"  {line}" for line in edge_lines(args.language)) or "  none for that language")
    if args.language in (None, "en"):
        print(f"Kokoro (English; preset voice.backend = \"kokoro\", voice.kokoro = NAME; {KOKORO_LICENCE}; "
              f"weights from {settings.kokoro_repo} on first use):")
        print("  " + ", ".join(KOKORO_VOICES))
    return 0


def add_voice_commands(commands: argparse._SubParsersAction) -> None:
    """`voices`."""
    listing = commands.add_parser("voices", help="the voices installed here, on the hub and of the edge backend")
    listing.add_argument("--language", help="only voices of this language, e.g. ru")
    listing.add_argument("--fetch", metavar="VOICE", help="fetch a voice now, e.g. ru_RU-dmitri-medium")
    listing.set_defaults(handler=_cmd_voices)
