# Lab hosts when a registry is reachable: the official node image plus the tools the lab uses
# (interception and faults: iptables; ss/nstat: iproute2; redis-server, mariadb-server, memcached;
# openssl; curl, dig).
# node is already /usr/local/bin/node there, where the lab expects it.
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      iproute2 iptables procps redis-server mariadb-server memcached openssl curl dnsutils ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY agent.cjs /opt/efl/agent.cjs
ARG AGENT
LABEL efl.agent=${AGENT} efl.source=registry
