/**
 * Colour per output stream (picocolors): progress goes to stderr and the verdict table to stdout,
 * and each decides for itself whether it is a terminal. NO_COLOR (any value) turns colour off,
 * FORCE_COLOR turns it on, as picocolors reads them.
 */
import { isatty } from 'node:tty';
import pc from 'picocolors';

const wanted = (fd: number) => !process.env.NO_COLOR && (!!process.env.FORCE_COLOR || isatty(fd));

export const stdoutColors = pc.createColors(wanted(1));
export const stderrColors = pc.createColors(wanted(2));
export type Colors = typeof stdoutColors;

/** Text without ANSI colour codes (for width and tests). */
export const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
