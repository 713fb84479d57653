/** Ctrl-C / SIGTERM: tear every live lab down, then exit. A second Ctrl-C exits at once. */
import { disposeAllLabs } from '../lab/live-labs.js';

export function teardownOnSignals(say: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    say(`\n${signal}: tearing the lab down (namespaces, processes, rules)…`);
    void disposeAllLabs().finally(() => {
      say('lab torn down.');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
