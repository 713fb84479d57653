/**
 * Input triage cannot read, refused with one error that says what it is and what to give instead:
 * an empty paste, a binary file, a config_dump given as the paste. Everything else is read, and what
 * is not understood is reported line by line (read-paste.ts), never refused as "an unknown format".
 */
import { UsageError } from '../../errors.js';

const GIVE = "give what you have of the incident as text: the sidecar's log (kubectl logs <pod> -c istio-proxy), the app's error, curl -v output, /stats";

export function refuseUnreadable(text: string, source: string): void {
  if (!text.trim()) throw new UsageError(`${source} is empty: nothing to triage`, { fix: GIVE });
  const sample = text.slice(0, 8192);
  // Text has no NULs and few control characters; a gzip, an image or a core file has many.
  const control = [...sample].filter((c) => { const n = c.charCodeAt(0); return n === 0 || (n < 32 && n !== 9 && n !== 10 && n !== 13) || c === '\uFFFD'; }).length;
  if (sample.includes('\0') || control > sample.length * 0.05) {
    throw new UsageError(`${source} is binary (${control} control or undecodable bytes in its first ${sample.length}), not a log or a paste`, { fix: `${GIVE}; a compressed log: zcat it first` });
  }
  if (/^\s*\{\s*"configs"\s*:/.test(sample)) {
    throw new UsageError(`${source} is a config_dump, not a log or a paste`, { fix: `pass it as --config-dump ${source}, and the log or the error as the first argument` });
  }
}

/** A config_dump file as JSON, or one clear error. */
export function configDumpOf(text: string, file: string): unknown {
  const fix = 'istioctl proxy-config all <pod> -o json > dump.json (or curl localhost:15000/config_dump)';
  let dump: { configs?: unknown };
  try {
    dump = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--config-dump ${file} is not a config_dump: not JSON (${(err as Error).message})`, { fix });
  }
  if (!Array.isArray(dump?.configs)) throw new UsageError(`--config-dump ${file} is not a config_dump: it has no "configs" list`, { fix });
  return dump;
}
