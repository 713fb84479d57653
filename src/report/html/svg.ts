/**
 * Charts are Vega-Lite specs rendered to SVG here, in Node, by Vega's headless renderer: the
 * report holds finished SVG, so it needs no script, no CDN and no network, and reads the same
 * from a file:// URL years later. Each plotted item keeps Vega's aria-label; it is also copied
 * into an SVG <title> so hovering a request in a browser shows what it was.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const withTitles = (svg: string): string =>
  svg.replace(/<(path|line|rect|text)( [^>]*?aria-label="([^"]*)"[^>]*)>(.*?)<\/\1>/g, (_m, tag, attrs, label, inner) => `<${tag}${attrs}><title>${label}</title>${inner}</${tag}>`);

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return withTitles(await view.toSVG());
  } finally {
    view.finalize();
  }
}
