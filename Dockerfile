# Builds the `vigil` binary on Debian 12 and ships it in a slim image.
# Use it as a base, or copy the binary into your own image:
#   COPY --from=vigil /usr/bin/vigil /usr/bin/vigil
#   ENTRYPOINT ["/usr/bin/vigil", "--"]
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target vigil \
 && strip build/agent/vigil

FROM debian:12-slim
COPY --from=build /src/build/agent/vigil /usr/bin/vigil
ENTRYPOINT ["/usr/bin/vigil", "--"]
CMD ["sh", "-c", "echo 'vigil: set CMD to your workload'; exit 0"]
