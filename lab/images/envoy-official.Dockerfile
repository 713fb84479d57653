# The sidecar when a registry is reachable: the official Envoy image, run as uid 1337 (the uid
# Istio's interception exempts). The lab execs /usr/local/bin/envoy, which the official image has.
ARG ENVOY_IMAGE
FROM ${ENVOY_IMAGE}
USER 1337:1337
ENTRYPOINT ["/usr/local/bin/envoy"]
