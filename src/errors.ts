/**
 * Every error the lab raises on purpose says three things: what was expected and what happened,
 * the evidence, and what to do about it. The CLI prints `message`, the evidence and `fix`, and
 * exits non-zero (2 usage, 3 prerequisite, 1 anything else).
 */
export interface LabErrorDetails {
  /** What the user can do about it, one or two sentences. */
  fix?: string;
  /** Extra lines of evidence (log tail, command output). */
  evidence?: string;
  /** The lower-level error this one explains. */
  cause?: unknown;
}

export class LabError extends Error {
  readonly fix?: string;
  readonly evidence?: string;

  constructor(message: string, details: LabErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.fix = details.fix;
    this.evidence = details.evidence;
  }

  /** The text the CLI prints: the message, the evidence indented, then the fix. */
  render(): string {
    const lines = [`${this.name}: ${this.message}`];
    if (this.evidence) lines.push(...this.evidence.trimEnd().split('\n').map((l) => `  | ${l}`));
    if (this.fix) lines.push(`  fix: ${this.fix}`);
    return lines.join('\n');
  }
}

/** Bad command-line input: exit code 2. */
export class UsageError extends LabError {}

/** Something the machine lacks (root, iptables, pip): exit code 3, once for the whole run. */
export class PrerequisiteError extends LabError {}

/** Envoy refused a config the lab rendered, or a config file is wrong. */
export class EnvoyConfigError extends LabError {}

/** A process did not come up, or a wait ran out of time. */
export class LabStartError extends LabError {}

/** A lab host, command or agent misbehaved while the lab ran. */
export class LabRuntimeError extends LabError {}

/** A scenario file is wrong (duplicate phase, no checks, unknown host). */
export class ScenarioDefinitionError extends LabError {}

/** What a phase asked for cannot be done in this mode (e.g. --istio has no Istio YAML for a variant it pushes): the phase is N/A, with this as its reason. */
export class NotApplicableError extends LabError {}

/** The run was interrupted (Ctrl-C / SIGTERM). */
export class InterruptedError extends LabError {}

/** Renders any error the way the CLI prints it. */
export function describeError(err: unknown): string {
  if (err instanceof LabError) return err.render();
  return err instanceof Error ? err.message : String(err);
}
