// Our incidents stay fixed: each phase is a test (a before must still fail as it did, a fix must hold).
import { phaseTests } from 'envoy-fault-lab/vitest';
import payments504 from './incidents/payments-504.js';

phaseTests(payments504, { configs: './incidents/payments-504', backend: 'netns' });
