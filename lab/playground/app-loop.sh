#!/bin/sh
# Playground app: a serial keep-alive HTTP client (Node's fetch reuses its connection), like the
# seed's Go service. Run as uid 1000 in the pod: docker compose exec -u 1000 pod sh /lab/playground/app-loop.sh
# Stops by itself after 200 requests; Ctrl-C stops it sooner.
exec node -e '
let n = 0;
const tick = async () => {
  if (++n > 200) return;
  const t = Date.now();
  try {
    const r = await fetch("http://test-com.test/");
    console.log(n, r.status, (await r.text()).trim(), `${Date.now() - t} ms`);
  } catch (e) {
    console.log(n, e.cause?.code ?? e.message, `${Date.now() - t} ms`);
  }
  setTimeout(tick, 300);
};
tick();'
