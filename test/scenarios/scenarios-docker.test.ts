// The scenario suite on the docker backend (test/support/scenario-suite.ts); its twin file runs the
// other backend side by side, both through the machine's scheduler.
import { defineScenarioSuite } from '../support/scenario-suite.js';

await defineScenarioSuite('docker');
