/**
 * Every error the lab raises on purpose says three things: what was expected and what happened,
 * the evidence, and what to do about it. The CLI prints `message` and `fix` and exits non-zero.
 */
export class LabError extends Error {
  constructor(
    message: string,
    /** What the user can do about it, one or two sentences. */
    readonly fix?: string,
    /** Extra lines of evidence (log tail, command output). */
    readonly evidence?: string,
  ) {
    super(message);
    this.name = new.target.name;
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

/** Something the machine lacks (root, iptables, pip): exit code 3. */
export class PrerequisiteError extends LabError {}

/** Envoy refused a config the lab rendered. */
export class EnvoyConfigError extends LabError {}

/** A process did not come up, or a wait ran out of time. */
export class LabStartError extends LabError {}

/** The run was interrupted (Ctrl-C / SIGTERM). */
export class InterruptedError extends LabError {}
