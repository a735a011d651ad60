# syntax=docker/dockerfile:1
# The controller image: `kubectl-failover run` (the same binary is the kubectl plugin), for
# people with Docker. CI builds the same image without a daemon (scripts/build-image.sh, buildah,
# from the glibc 2.28 binary of scripts/build-portable.sh); both lay out the root file system
# with scripts/image-rootfs.sh, so both give the same layout:
#   docker build -t ghcr.io/kubectl-failover/kubectl-failover:v0.1.0 .

# Builder: Debian bookworm; the runtime libraries below come from the same release.
# aws-lc-rs (kube's and the AWS SDK's TLS crypto) builds its C code with the image's gcc.
FROM docker.io/library/rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# --locked: build exactly the committed Cargo.lock. The caches keep crates and objects between
# builds; the binary is copied out because the target cache is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin kubectl-failover \
    && cp target/release/kubectl-failover /kubectl-failover

# Root file system: the binary, the libraries it names, CA certificates and the nonroot user,
# all from Debian packages (scripts/image-rootfs.sh says what goes where).
FROM docker.io/library/debian:bookworm-slim AS rootfs
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null
COPY scripts/image-rootfs.sh /image-rootfs.sh
COPY --from=builder /kubectl-failover /kubectl-failover
RUN /image-rootfs.sh /kubectl-failover /rootfs

# Runtime: nothing but that file system; no shell, no package manager. Runs as "nonroot"
# (65532), which the Deployment's securityContext also requires.
FROM scratch
COPY --from=rootfs /rootfs/ /
USER 65532:65532
WORKDIR /home/nonroot
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# Health (/healthz, /readyz) and metrics of `run`.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kubectl-failover"]
CMD ["run"]
