/**
 * A paste as people make it in an incident, made into lines a reader can anchor on. What gets
 * between a log and the person pasting it is undone here, line by line, and each undoing is named
 * (`--explain` shows which rules touched which line): a log shipper's wrapper (Docker's json-file
 * `{"log":…}`, a cloud logging export's `"textPayload": "…"` with literal `\t`/`\n`), a
 * `kubectl logs --timestamps` time or a pod prefix from stern or a log viewer, Markdown's bold
 * and code marks and `\|` escapes, word processors' curly quotes, a terminal UI's box border.
 * Nothing is dropped: a line that matches no rule is kept as it is.
 */

export interface PasteLine {
  /** 1-based line number in the input. */
  n: number;
  /** The line with its wrappers taken off. */
  text: string;
  /** Which rules took something off it, in order. */
  rules: string[];
}

interface Rule {
  name: string;
  apply: (line: string) => string | undefined;
}

const unescapeJsonString = (s: string): string => {
  try {
    return JSON.parse(`"${s}"`);
  } catch {
    return s.replace(/\\t/g, '\t').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
};

/** Where a log line of interest starts: a bracketed or ISO time, a JSON object, a quoted request. */
const LOG_START = /^(?:\[\d{4}-\d\d-\d\d|\d{4}-\d\d-\d\dT|\{|"[A-Z]+ \S+ HTTP\/|"- - -")/;

const RULES: Rule[] = [
  {
    // Docker's json-file driver: {"log":"<line>\n","stream":"stdout","time":"…"}.
    name: "Docker's json-file wrapper {\"log\":…}",
    apply: (l) => {
      const m = /^\s*\{"log":"((?:[^"\\]|\\.)*)"\s*,\s*"stream"/.exec(l);
      return m ? unescapeJsonString(m[1]!).replace(/\n$/, '') : undefined;
    },
  },
  {
    // Google Cloud Logging and similar exports: "textPayload": "<line with \t and \n escapes>",
    name: 'a cloud logging export\'s "textPayload" field',
    apply: (l) => {
      const m = /^\s*"textPayload"\s*:\s*"(.*?)(?:",?)?\s*$/.exec(l);
      return m ? unescapeJsonString(m[1]!).replace(/\n$/, '') : undefined;
    },
  },
  {
    // kubectl logs --timestamps: an RFC 3339 time before the container's own line.
    name: 'a kubectl --timestamps time',
    apply: (l) => {
      const m = /^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+(?=\[|\{|\d{4}-\d\d-\d\dT)/.exec(l);
      return m ? l.slice(m[0].length) : undefined;
    },
  },
  {
    // A pod prefix: stern's "pod container ", a log viewer's "name (id) ", kubectl's "[pod/name/container] ".
    name: 'a pod or container prefix',
    apply: (l) => {
      const m = /^\s*(?:\[pod\/[^\]\s]+\]\s+|[\w.-]+ \(\d+\)\s?|[a-z0-9][\w.-]*-[a-z0-9]{4,10}(?:-[a-z0-9]{5})? [\w-]+ (?=\S))/.exec(l);
      if (!m) return undefined;
      const rest = l.slice(m[0].length);
      return LOG_START.test(rest.trimStart()) || /^'[\w:-]+', '/.test(rest) || rest.trim() === '' ? rest : undefined;
    },
  },
  {
    // A product's own prefix word before Envoy's line (Ambassador's "ACCESS [time] …").
    name: 'a word before the log line (ACCESS, INFO, …)',
    apply: (l) => {
      const m = /^\s*[A-Z][A-Z_]{2,15}:?\s+(?=\[\d{4}-\d\d-\d\d)/.exec(l);
      return m ? l.slice(m[0].length) : undefined;
    },
  },
  {
    name: "Markdown's bold and code marks",
    apply: (l) => (/\*\*|`/.test(l) ? l.replace(/\*\*/g, '').replace(/`/g, '') : undefined),
  },
  {
    // Markdown table cells escape "|" (Istio's cluster names outbound\|80\|\|host).
    name: "Markdown's \\| escapes",
    apply: (l) => (l.includes('\\|') ? l.replace(/\\\|/g, '|') : undefined),
  },
  {
    name: 'curly quotes',
    apply: (l) => (/[\u201c\u201d\u2018\u2019]/.test(l) ? l.replace(/[\u201c\u201d]/g, '"').replace(/[\u2018\u2019]/g, "'") : undefined),
  },
  {
    // A terminal UI's box border inside a wrapped line.
    name: "a terminal UI's border character",
    apply: (l) => (/[\u2502\u2503\u2551]/.test(l) ? l.replace(/\s*[\u2502\u2503\u2551]\s*$/, ' ').replace(/[\u2502\u2503\u2551]/g, '') : undefined),
  },
];

/** The paste's lines with their wrappers taken off; a wrapper's own "\n" escapes become lines of their own. */
export function pasteLines(text: string): PasteLine[] {
  const out: PasteLine[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, i) => {
      let line = raw.replace(/\r$/, '');
      const rules: string[] = [];
      // Wrappers nest (a prefix around a JSON wrapper): apply until nothing changes, each rule once.
      for (let pass = 0; pass < 3; pass++) {
        let changed = false;
        for (const r of RULES) {
          if (rules.includes(r.name)) continue;
          const next = r.apply(line);
          if (next !== undefined && next !== line) {
            line = next;
            rules.push(r.name);
            changed = true;
          }
        }
        if (!changed) break;
      }
      for (const part of line.split('\n')) out.push({ n: i + 1, text: part, rules });
    });
  return out;
}
