/**
 * The message protocol between the harness and a lab agent (a Node process inside a lab host),
 * one JSON object per line over the agent's stdin (requests) and stdout (replies, events). Requests get exactly one reply; agents also emit events
 * (a served request, a DNS query, a client outcome) stamped with the wall clock.
 */
export interface AgentRequest {
  id: number;
  cmd: string;
  args: unknown;
}

export type AgentReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface AgentEvent {
  id?: undefined;
  event: string;
  /** Date.now() in the agent; host and lab share one clock. */
  at: number;
  [key: string]: unknown;
}

export type AgentMessage = AgentReply | AgentEvent | { ready: true; pid: number };

/** What a role module exports: named commands. `emit` sends an event to the harness. */
export type Emit = (event: string, fields: Record<string, unknown>) => void;
export type CommandHandler = (args: any, emit: Emit) => unknown | Promise<unknown>;
export type Commands = Record<string, CommandHandler>;
