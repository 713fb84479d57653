/**
 * LAB_SCHEDULER_TRACE=<file>: one JSON line per start and per end of a run, from every process,
 * to see where a suite's wall time goes (dev-notes/suite-timeline.mjs reads it).
 */
import { appendFile } from 'node:fs/promises';

const TRACE = process.env.LAB_SCHEDULER_TRACE;

export const trace = (o: object): Promise<void> => (TRACE ? appendFile(TRACE, `${JSON.stringify({ t: Date.now(), pid: process.pid, ...o })}\n`).catch(() => {}) : Promise.resolve());
