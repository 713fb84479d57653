import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, commandHandler } from '../../src/agent-commands.js';

describe("the agent's lazily loaded commands", () => {
  it('each group lists exactly the commands its module exports, and no name is in two groups', async () => {
    for (const g of COMMAND_GROUPS) expect(Object.keys(await g.load()).sort()).toEqual([...g.names].sort());
    const names = COMMAND_GROUPS.flatMap((g) => g.names);
    expect(new Set(names).size).toBe(names.length);
  });
  it('an unknown command has no handler (the agent answers it with an error)', async () => {
    expect(await commandHandler('nope.start')).toBeUndefined();
    expect(typeof (await commandHandler('dns.start'))).toBe('function');
  });
});
