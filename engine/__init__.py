"""Video Factory's engine: a topic in, a finished video out; usable without the bot."""

__version__ = "0.1.0"
