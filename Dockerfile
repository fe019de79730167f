# SecurityVision: one image for the API (`serve`, the default) and the MQTT worker (`worker`).
# Multi-stage: the build stage makes a virtualenv with the package and its dependencies; the
# runtime stage copies only that virtualenv and runs as an unprivileged user.
#
#   docker build -t securityvision .
#   docker run --env-file .env -p 8000:8000 securityvision            # the API
#   docker run --env-file .env securityvision worker                   # the worker
# docs/operations.md describes the compose files, settings and signals.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/securityvision
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/securityvision/bin/pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/securityvision/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDIA_ROOT=/var/lib/securityvision/media
RUN groupadd --system --gid 10001 securityvision \
    && useradd --system --uid 10001 --gid securityvision --home-dir /var/lib/securityvision \
       --shell /usr/sbin/nologin securityvision \
    && mkdir -p /var/lib/securityvision/media \
    && chown -R securityvision:securityvision /var/lib/securityvision
COPY --from=build /opt/securityvision /opt/securityvision
USER securityvision:securityvision
WORKDIR /var/lib/securityvision
EXPOSE 8000
# `serve` and `worker` stop cleanly on SIGTERM: requests finish (event streams are closed after
# --shutdown-timeout), the worker stores and acknowledges what it holds.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
ENTRYPOINT ["securityvision"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
