/**
 * npm run lab -- <command>: the lab's housekeeping. See `npm run lab -- --help`. Each group of
 * commands is a module of its own (lab-envoy, lab-config, lab-istio, lab-housekeeping, triage).
 */
import { addConfigCommands } from './lab-config.js';
import { addEnvoyCommands } from './lab-envoy.js';
import { addHousekeepingCommands } from './lab-housekeeping.js';
import { labIo } from './lab-io.js';
import { addIstioCommands } from './lab-istio.js';
import { cliCommand, main } from './main.js';
import { addTriageCommand } from './triage-command.js';

const program = cliCommand('npm run lab --', "The lab's housekeeping: Envoy versions, images, cleanup, doctor.");
addEnvoyCommands(program);
addHousekeepingCommands(program);
addConfigCommands(program);
addIstioCommands(program);
addTriageCommand(program);

await main(program, () => labIo.exitCode);
