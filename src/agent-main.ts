/**
 * Entry point of every lab agent: a Node process started inside a lab host (a namespace or a
 * container) that plays one part of the world (the lab DNS, an upstream server, the app's
 * client), driven by the harness with JSON lines on stdin/stdout (a transport that also crosses
 * `docker exec`). Logs go to stderr. It exits when its stdin closes: the harness is gone.
 * It is bundled on its own (agent-bundle.ts): nothing it imports may reach harness-only modules
 * (paths, install, lab), which depend on the repository layout.
 */
import { createInterface } from 'node:readline';
import type { AgentRequest, Emit } from './agent/protocol.js';
import { COMMAND_NAMES, commandHandler } from './agent-commands.js';

// Standalone (the docker-compose playground): `agent serve <command> '<json args>'` runs one
// command, e.g. a server, and stays up without a harness.
if (process.argv[2] === 'serve') {
  void serveOne(process.argv[3], process.argv[4]);
} else if (process.stdin.isTTY) {
  console.error('agent is started by the lab harness, which talks to it over stdin/stdout; run `agent serve <command> <json>` to start one server by hand.');
  process.exit(2);
} else {
  serveHarness();
}

async function serveOne(cmd: string | undefined, json: string | undefined): Promise<void> {
  const handler = await commandHandler(cmd ?? '');
  if (!handler) {
    console.error(`usage: agent serve <command> '<json args>'; commands: ${COMMAND_NAMES.join(', ')}`);
    process.exit(2);
  }
  const log = (event: string, fields: Record<string, unknown>) => console.log(JSON.stringify({ event, at: new Date().toISOString(), ...fields }));
  // SIGUSR2: the service goes away, its open connections closed (lab/playground/blackhole.sh).
  process.on('SIGUSR2', () => void commandHandler('http.closeConnections').then((h) => h?.({}, log)));
  Promise.resolve(handler(JSON.parse(json ?? '{}'), log)).then(
    (r) => console.log(`${cmd} started: ${JSON.stringify(r)}`),
    (err: Error) => {
      console.error(`${cmd} failed: ${err.message}`);
      process.exit(1);
    },
  );
}

function serveHarness(): void {

  const send = (msg: unknown) => process.stdout.write(`${JSON.stringify(msg)}\n`);
  const emit: Emit = (event, fields) => send({ event, at: Date.now(), ...fields });

  createInterface({ input: process.stdin })
  .on('line', async (line) => {
    let req: AgentRequest;
    try {
      req = JSON.parse(line) as AgentRequest;
    } catch {
      console.error(`agent: ignoring a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    try {
      const handler = await commandHandler(req.cmd);
      if (!handler) throw new Error(`unknown agent command "${req.cmd}"`);
      send({ id: req.id, ok: true, result: (await handler(req.args, emit)) ?? null });
    } catch (err) {
      send({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  })
    // The harness is gone (crash, SIGKILL): nothing in the lab may outlive it.
    .on('close', () => process.exit(0));
  send({ ready: true, pid: process.pid });
}
