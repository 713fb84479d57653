# Lab hosts that run Node agents (app, DNS, upstreams): the base image plus the host's node binary
# (it needs only glibc and libstdc++, which the Debian base has) and the agent bundle, so the
# docker-compose playground can start lab servers with `node /opt/efl/agent.cjs serve …`.
ARG BASE
FROM ${BASE}
COPY node /usr/local/bin/node
COPY agent.cjs /opt/efl/agent.cjs
ARG AGENT
LABEL efl.agent=${AGENT} efl.base=${BASE}
CMD ["node", "--version"]
