/**
 * A tiny HTML builder: `html` escapes every interpolated value unless it is already Html (built
 * by `html` itself or marked `raw`, e.g. an SVG the chart library rendered). Enough for a static
 * report; no template engine needed.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

type Value = Html | string | number | boolean | null | undefined | Value[];

function render(v: Value): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]!) : ''), ''));
}

/** Markup that is trusted as is (an SVG rendered by Vega, a page's CSS). */
export const raw = (text: string): Html => new Html(text);

/** An id usable as a URL fragment: the same phase always gets the same anchor. */
export const anchor = (...parts: Array<string | number>): string => parts.join('-').replace(/[^a-zA-Z0-9_.-]+/g, '-');
