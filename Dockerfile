# Vetrina server image: `docker build -t vetrina . && docker run -e VETRINA_SECRET=$(openssl rand -hex 32) -p 8080:8080 vetrina`
# Staff tokens for the host console: `docker run --rm -e VETRINA_SECRET=... --entrypoint vetrina vetrina token --role host --room '*'`
# Several nodes behind a proxy, sharing one Redis: `docker compose up --build` (compose.yaml, docs/deploy.md)
FROM node:20-bookworm-slim AS web
WORKDIR /src/client_web
COPY client_web/package.json client_web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY world ./world
COPY server ./server
RUN pip install .
COPY assets ./assets
COPY client_web ./client_web
COPY --from=web /src/client_web/node_modules ./client_web/node_modules
RUN useradd --create-home --uid 10001 vetrina && mkdir /data && chown vetrina /data
USER vetrina
ENV VETRINA_ROOMS=/app/assets/rooms VETRINA_CLIENT_DIR=/app/client_web VETRINA_WORDFILTER=/app/assets/wordfilter \
    VETRINA_DATA_DIR=/data
# what must survive a restart (revoked staff tokens): mount a volume here
VOLUME /data
EXPOSE 8080
# /healthz answers 200 while the node serves its visitors, also when Redis is down ("degraded").
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["vetrina", "serve", "--host", "0.0.0.0", "--port", "8080"]
