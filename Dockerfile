# ATLAS × QFS server image. Built browser assets are committed, so no Node stage is needed.
FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH"
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
COPY migrations ./migrations
RUN uv sync --frozen --no-dev
RUN useradd --system --uid 10001 --home /var/lib/atlas atlas && mkdir -p /var/lib/atlas && chown atlas /var/lib/atlas
USER atlas
ENV ATLAS_DATA_DIR=/var/lib/atlas
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz').status==200 else 1)"
CMD ["atlas", "serve", "--host", "0.0.0.0", "--port", "8000"]
