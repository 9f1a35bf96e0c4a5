# Builds Vigil on Debian 12 and ships vigil (the PID-1 core), vigil-control (its control plane)
# and vigilctl in a slim image. Use it as a base, or copy the binaries into your own image:
#   COPY --from=vigil /usr/bin/vigil /usr/bin/vigil-control /usr/bin/vigilctl /usr/bin/
#   ENTRYPOINT ["/usr/bin/vigil", "--config", "/etc/vigil/vigil.yaml"]
# vigil needs only libc; vigil-control and vigilctl need Debian's gRPC and protobuf runtimes
# (and vigil-control prometheus-cpp's core, for /metrics).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target vigil vigil-control vigilctl \
 && strip build/agent/vigil build/agent/vigil-control build/agent/vigilctl

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgrpc++1.51 libprotobuf32 \
      libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/agent/vigil /src/build/agent/vigil-control /src/build/agent/vigilctl /usr/bin/
# Prometheus /metrics, served by vigil-control in pool mode (docs/metrics.md).
EXPOSE 9180
ENTRYPOINT ["/usr/bin/vigil"]
CMD ["--", "sh", "-c", "echo 'vigil: give it --config FILE, or -- CMD'; exit 0"]
