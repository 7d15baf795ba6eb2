# Taskcast: python run_bot.py in a slim image. Settings come from the environment (see .env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY core ./core
COPY storage ./storage
COPY weather ./weather
COPY run_bot.py ./
RUN pip install --no-cache-dir . && useradd --create-home taskcast && mkdir /data && chown taskcast /data

USER taskcast
# The default SQLite file lives in the working directory: keep it on a volume.
WORKDIR /data
VOLUME ["/data"]
STOPSIGNAL SIGTERM
CMD ["python", "/app/run_bot.py"]
