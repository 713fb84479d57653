// Istio mode on the docker backend (test/support/istio-suite.ts); its twin file runs the other
// backend side by side, both through the machine's scheduler.
import { defineIstioSuite } from '../support/istio-suite.js';

await defineIstioSuite('docker');
