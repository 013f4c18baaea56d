# syntax=docker/dockerfile:1
#
# kubecamp-bot, the Discord chat-ops bot for Kubernetes bootcamps.
#
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/kubecamp/kubecamp-bot:0.1.0 .
#
# Two stages. "build" turns this project into a wheel and collects the wheels of all its
# dependencies in /wheels; it is the only stage that reaches the network (PyPI). Every runtime
# dependency ships manylinux wheels for CPython 3.11 (numpy, matplotlib, pydantic-core, aiohttp, ...),
# so no compiler is installed; if one ever had to be built from source, its compiler would go into
# this stage, never the next. The final stage installs those wheels offline (--no-index), from a
# bind mount, so neither the wheels nor pip's cache end up in a layer. RUN --mount needs BuildKit
# (Docker 23+ builds with it by default).
#
# No HEALTHCHECK: Kubernetes ignores it. The Helm chart's liveness and readiness probes ask
# GET /healthz and GET /readyz on port 8081 (KUBECAMP_WEB_PROBE_PORT), which also serves /metrics;
# port 8080 serves Alertmanager's webhook alone; port 8082 the scoreboard page (KUBECAMP_WEB_SCOREBOARD_PORT).

ARG PYTHON_VERSION=3.11.16
ARG DEBIAN_RELEASE=bookworm

# The build stage is never shipped: the OCI labels (.hadolint.yaml's label-schema) belong on the
# final image only.
# hadolint ignore=DL3049
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
# Only what the wheel is built from (README.md is the package's long description).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
# With the postgres extra (asyncpg): one image for a SQLite volume or a PostgreSQL URL.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'


FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="kubecamp-bot" \
      org.opencontainers.image.description="Discord chat-ops bot for Kubernetes bootcamps: break-fix challenges, timing, scoring and incident threads" \
      org.opencontainers.image.source="https://github.com/kubecamp/kubecamp-bot" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

# The root filesystem is read-only in the cluster: no .pyc files written at run time (pip compiles
# them at install), and matplotlib's font cache under /tmp (an emptyDir in the pod).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    MPLCONFIGDIR=/tmp/matplotlib \
    KUBECAMP_SCENARIOS_DIR=/app/scenarios \
    KUBECAMP_DATA_DIR=/var/lib/kubecamp \
    KUBECAMP_WEB_PORT=8080

# A system user with a fixed uid/gid (the chart's securityContext uses 10001): no home directory,
# no login shell. The store directory belongs to it; the chart mounts its volume there.
RUN groupadd --system --gid 10001 kubecamp \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin kubecamp \
    && mkdir -p /var/lib/kubecamp \
    && chown 10001:10001 /var/lib/kubecamp \
    && chmod 0750 /var/lib/kubecamp

# A font with Hangul for the scoreboard chart's Korean (bot/scoreboard_chart.py looks for it where Debian
# puts it): matplotlib's own has none and would draw boxes. Debian's package, pinned like the base image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-nanum=20200506-1 \
    && rm -rf /var/lib/apt/lists/*

# Offline install from the build stage's wheels, then smoke checks that fail the build rather than the
# pod: the entry point starts, the IANA time zones (KUBECAMP_TIMEZONE) resolve, the chart finds its font,
# PostgreSQL's driver loads.
# Named with its extra rather than by file: the only version there is is the wheel the build stage made.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels 'kubecamp-bot[postgres]' \
    && kubecamp --help > /dev/null \
    && python -c "import zoneinfo; zoneinfo.ZoneInfo('Asia/Seoul')" \
    && python -c "from bot.scoreboard_chart import HANGUL_FONTS; assert HANGUL_FONTS[0].is_file()" \
    && python -c "import asyncpg"

# No scenarios: the image is public and any Pod can read its files, so the catalogue (hints; solutions and
# the answer key stay in the instructor's checkout) is mounted at KUBECAMP_SCENARIOS_DIR by the chart, from a
# Secret (docs/deploy.md, "The scenario catalogue"). Elsewhere: docker run -v "$PWD/scenarios:/app/scenarios:ro".
WORKDIR /app

VOLUME ["/var/lib/kubecamp"]
EXPOSE 8080 8081 8082
USER 10001:10001

# The image is the `kubecamp` CLI: `docker run IMAGE scenarios list` runs another command, and
# `kubectl exec POD -- kubecamp db upgrade` works as on a workstation. Exec form, so kubecamp is
# PID 1 and gets the SIGTERM it shuts down cleanly on (it starts no child processes to reap).
ENTRYPOINT ["kubecamp"]
CMD ["run"]
