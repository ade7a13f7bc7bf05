# The GraphQL back end as a container image. PostgreSQL runs outside it (DATABASE_URL);
# without DATABASE_URL the embedded PostgreSQL of a plain `python server.py serve` starts
# inside the container, which suits a trial, not production.
#
#   docker build -t xwpx-graphql .
#   docker run -p 8000:8000 -e DATABASE_URL=postgresql://user:pass@db:5432/xwpx \
#       -e XWPX_SECURE_COOKIES=1 xwpx-graphql
# GraphiQL's files (web/graphiql/package-lock.json), so the image's GraphiQL page needs no
# internet (docs/http.md, "GraphiQL").
FROM node:20-slim AS graphiql
WORKDIR /build
COPY web/graphiql/package.json web/graphiql/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    XWPX_LOG_FORMAT=json \
    XWPX_DATA_DIR=/var/lib/xwpx

RUN useradd --system --create-home --home-dir /app xwpx \
    && mkdir -p /var/lib/xwpx && chown xwpx /var/lib/xwpx
WORKDIR /app

COPY pyproject.toml ./
COPY . .
COPY --from=graphiql /build/node_modules web/graphiql/node_modules
RUN pip install .

USER xwpx
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
# Migrations run at start (idempotent); set --workers to the cores given to the container.
CMD ["python", "server.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--forwarded-allow-ips", "*"]
