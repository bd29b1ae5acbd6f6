# syntax=docker/dockerfile:1
# Build stage: durable_rules ships only an sdist, so it needs a C compiler (docs/engine.md §10).
FROM python:3.12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY policy_service ./policy_service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: no compiler, non-root, the example policies validated and tested while building.
FROM python:3.12-slim
RUN useradd --create-home --uid 10001 policy
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
COPY policies ./policies
RUN policy-service validate policies && policy-service test policies
RUN mkdir -p /app/var && chown policy:policy /app/var
USER policy
ENV POLICY_SERVICE_POLICIES=/app/policies \
    POLICY_SERVICE_DATABASE_URL=sqlite:////app/var/decisions.db \
    POLICY_SERVICE_KEYS=/app/var/keys.json \
    POLICY_SERVICE_BIND=0.0.0.0:8080
VOLUME ["/app/var"]
EXPOSE 8080
# Ready = policies loaded and the decision log reachable (GET /readyz gives the detail).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status == 200 else 1)"
# gunicorn with policy_service/serving/gunicorn_conf.py: workers from the CPU count, graceful shutdown that
# finishes in-flight requests, no --preload (each worker builds its own engine: docs/engine.md §11).
# It refuses to start without API keys: create one first (docs/container.md).
CMD ["policy-service", "serve"]
