# syntax=docker/dockerfile:1
# Vigil's image: docs/image.md. Stages (targets):
#   build             Debian 12 with the build dependencies only (no test packages): builds vigil,
#                     vigil-control and vigilctl (no tests) and the bundle, and leaves
#                     /out/usr/bin/{vigil,vigil-control,vigilctl} and /out/opt/vigil (the bundle,
#                     scripts/make-bundle.sh): the only paths the later stages take from it.
#   bundle            FROM scratch, just /opt/vigil: copied by an init container into an emptyDir
#                     that an application container runs /opt/vigil/bin/vigil from (inject mode).
#   runtime           debian:12-slim with the runtime libraries, the binaries in /usr/bin and the
#                     bundle in /opt/vigil; runs as 65532:65532, which owns /run/vigil. The default
#                     target: the Vigil image, to use as a base or to copy from.
#   example-gunicorn  the runtime image plus gunicorn and examples/gunicorn: the application that
#                     deploy/kubernetes/ and the Helm chart run.
#
#   docker build -t vigil .
#   docker build --target bundle -t vigil-bundle .
#   docker build --target example-gunicorn -t vigil-example .
ARG BUILD_IMAGE=debian:12
ARG RUNTIME_IMAGE=debian:12-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh --build-only
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target vigil vigil-control vigilctl \
 && strip build/agent/vigil build/agent/vigil-control build/agent/vigilctl \
 && install -D -m 0755 -t /out/usr/bin build/agent/vigil build/agent/vigil-control \
      build/agent/vigilctl \
 && bash scripts/make-bundle.sh /out/opt/vigil build

FROM scratch AS bundle
COPY --from=build /out/opt/vigil /opt/vigil

FROM ${RUNTIME_IMAGE} AS runtime
ARG RUNTIME_IMAGE
# OCI labels: pass the real values when building a release, e.g.
#   --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#   --build-arg CREATED=$(date -u +%FT%TZ) --build-arg SOURCE=<repository URL>
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
# Installs only what is missing (nothing, on a base that has the libraries already).
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh --runtime && rm /tmp/install-deps.sh
COPY --from=build /out/usr/bin/ /usr/bin/
COPY --from=bundle /opt/vigil /opt/vigil
# The socket directory (control.sock, notify/), the user's own. With a read-only root it must
# be a volume: mount an emptyDir at /run/vigil (docs/control.md), or Vigil refuses to start.
# Mode 1777 like an emptyDir's 0777 (plus the sticky bit): a tmpfs mounted here by runc
# (`docker run --read-only --tmpfs /run/vigil`) takes this directory's mode, and any uid
# (`--user`, OpenShift's arbitrary uids) can then use it.
RUN install -d -o 65532 -g 65532 -m 1777 /run/vigil \
 && ln -s vigil /usr/bin/tini && ln -s vigil /usr/bin/dumb-init
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="Vigil: a lifecycle agent for containers (PID 1, pools, sd_notify readiness, drain, gRPC health, Prometheus metrics)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
USER 65532:65532
# Prometheus /metrics, served by vigil-control in pool mode (docs/metrics.md).
EXPOSE 9180
ENTRYPOINT ["/usr/bin/vigil"]
CMD ["--help"]

FROM runtime AS example-gunicorn
USER 0:0
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh --example-gunicorn && rm /tmp/install-deps.sh
COPY examples/gunicorn/app.py /app/app.py
COPY examples/gunicorn/vigil.yaml /etc/vigil/vigil.yaml
LABEL org.opencontainers.image.title="vigil-example-gunicorn" \
      org.opencontainers.image.description="Vigil's example application: a gunicorn pool (examples/gunicorn)"
USER 65532:65532
# The application, the kubelet's gRPC health probes, Prometheus /metrics.
EXPOSE 8000 9901 9180
CMD ["--config", "/etc/vigil/vigil.yaml"]

# The default target (`docker build .`): the Vigil image.
FROM runtime
