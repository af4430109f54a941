"""One exception tree for the whole factory; vendor errors are translated into it at the edge."""

from __future__ import annotations


class VideoFactoryError(Exception):
    """Base of every error the factory raises on purpose."""

    exit_code = 1


class InputError(VideoFactoryError):
    """The user's input (topic, file, option) cannot be used as given."""

    exit_code = 2


class PresetError(InputError):
    """A preset is unknown or its file is broken."""


class OutputError(VideoFactoryError):
    """The output or data folder cannot be written (permissions, full disk)."""

    exit_code = 2


class DatabaseError(OutputError):
    """The database cannot be used now: held by another process for too long, damaged, or unreachable."""


class DiskFullError(OutputError):
    """No space left on the device that holds the output, data or cache folder."""


class BackendError(VideoFactoryError):
    """A backend (TTS, ASR, images, encoder…) failed to produce its result."""


class MediaError(BackendError):
    """ffmpeg failed to read or write a media file."""


class ConfigError(VideoFactoryError):
    """The configuration is invalid."""

    exit_code = 2
