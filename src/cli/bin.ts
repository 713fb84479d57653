#!/usr/bin/env node
/**
 * `npx envoy-fault-lab <command> …`: the installed package's one entry. Each command is the
 * CLI the npm scripts of this repository run, with the same flags:
 *   scenario → npm run scenario --, matrix → npm run matrix --, lab → npm run lab --,
 *   bench → npm run bench --, upgrade-check → npm run upgrade-check --, triage → npm run lab -- triage.
 */
const COMMANDS: Record<string, { module: string; prefix?: string[]; what: string }> = {
  scenario: { module: './scenario.js', what: 'reproduce an incident (a built-in id or your ./incidents/<name>.ts), then prove each fix' },
  matrix: { module: './matrix.js', what: 'every phase on every listed Envoy or Istio version (--shard i/n, merge)' },
  triage: { module: './lab.js', prefix: ['triage'], what: "which incident is this? from a pod's access log (--config-dump, --stats, --ss)" },
  lab: { module: './lab.js', what: 'housekeeping: install, images, doctor, validate, istio, import-config, report, …' },
  bench: { module: './bench.js', what: 'where a phase run spends its time, serial and packed in one run' },
  'upgrade-check': { module: './upgrade-check.js', what: "what an Istio upgrade changes for your Istio YAML, one behaviour change at a time" },
};

const [command, ...rest] = process.argv.slice(2);
const chosen = command ? COMMANDS[command] : undefined;
if (!chosen) {
  const help = command === undefined || command === '-h' || command === '--help';
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(13)} ${c.what}`);
  const text = `Usage: envoy-fault-lab <command> [options]   (each command: --help)\n\nCommands:\n${lines.join('\n')}\n`;
  if (help) process.stdout.write(text);
  else process.stderr.write(`UsageError: unknown command "${command}"\n  fix: one of ${Object.keys(COMMANDS).join(', ')}\n\n${text}`);
  process.exitCode = help ? 0 : 2;
} else {
  // The chosen CLI parses process.argv as `node <script> <args…>` when it loads.
  process.argv = [process.argv[0]!, process.argv[1]!, ...(chosen.prefix ?? []), ...rest];
  await import(chosen.module);
}
