/** A borderless, compact text table (cli-table3), optionally with a styled header. */
import Table from 'cli-table3';

export function textTable(head: string[], rows: string[][], o: { header?: (s: string) => string; align?: Array<'left' | 'right'> } = {}): string {
  const t = new Table({
    head: head.map((h) => (o.header ? o.header(h) : h)),
    ...(o.align ? { colAligns: o.align } : {}),
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2 },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '' },
  });
  t.push(...rows);
  return t.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}
