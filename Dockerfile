# The production image: web (gunicorn), Celery worker and beat all run it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/app/var/media

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
# Static files (plotly.js included) are collected into the image and served by WhiteNoise.
RUN DJANGO_SETTINGS_MODULE=config.settings.local python manage.py collectstatic --no-input -v 0 \
    && useradd --create-home --uid 1000 app && mkdir -p /app/var/media && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
