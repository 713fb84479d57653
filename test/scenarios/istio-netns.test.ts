// Istio mode on the netns backend (test/support/istio-suite.ts); its twin file runs the other
// backend side by side, both through the machine's scheduler.
import { defineIstioSuite } from '../support/istio-suite.js';

await defineIstioSuite('netns');
