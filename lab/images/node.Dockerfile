# Lab hosts that run Node agents (app, DNS, upstreams): the base image plus the host's node binary
# (it needs only glibc and libstdc++, which the Debian base has).
ARG BASE
FROM ${BASE}
COPY node /usr/local/bin/node
CMD ["node", "--version"]
