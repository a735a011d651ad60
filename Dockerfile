# syntax=docker/dockerfile:1
# The controller image: `kubectl-failover run` (the same binary is the kubectl plugin).
# Build: docker build -t REGISTRY/kubectl-failover:0.1.0 .
# Not built in this repository's CI (no container engine there); see deploy/README.md.

# Builder: Debian bookworm, so the binary links against the glibc of the runtime image below.
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

# Runtime: distroless with glibc, libgcc and CA certificates (for DynamoDB and the API server
# over TLS); no shell, no package manager. Runs as the image's "nonroot" user (65532), which the
# Deployment's securityContext also requires.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /kubectl-failover /usr/local/bin/kubectl-failover
USER 65532:65532
# Health (/healthz, /readyz) and metrics of `run`.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kubectl-failover"]
CMD ["run"]
