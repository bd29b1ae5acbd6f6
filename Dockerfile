# syntax=docker/dockerfile:1
# Build stage: durable_rules ships only an sdist, so it needs a C compiler (ENGINE_NOTES 10).
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
    POLICY_SERVICE_DATABASE_URL=sqlite:////app/var/decisions.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
# No --preload: each worker builds its own rules engine after the fork (ENGINE_NOTES 11).
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "2", "--worker-class", "sync", "--timeout", "30", \
     "--graceful-timeout", "30", "policy_service:create_app()"]
