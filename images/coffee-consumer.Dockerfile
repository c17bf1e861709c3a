# The coffee-consumer image. Built from the repository root:
#   buildah bud -f images/coffee-consumer.Dockerfile -t coffee-consumer .      (or docker build)
# The build stage compiles the binary and lays out its root filesystem (images/rootfs.sh); the
# image itself starts FROM scratch with only that. Where no base image can be pulled, a directory
# laid out by images/rootfs.sh stands in for the build stage: images/build --offline passes it as
# `--build-context build=<dir>`.
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm

FROM ${RUST_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake libssl-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p consumer --bin coffee-consumer \
 && images/rootfs.sh target/release/coffee-consumer /out

FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="coffee-consumer" \
      org.opencontainers.image.description="Order processing: Kafka consumer group with a live-resizable worker pool" \
      org.opencontainers.image.source="https://github.com/coffee-pipeline/coffee-pipeline" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/coffee-consumer"]
