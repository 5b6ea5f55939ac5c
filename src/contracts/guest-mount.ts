/**
 * The mounts the guest agent makes for the workload (agent protocol CONFIG, docs/agent-protocol.md):
 * written by `create` into spec.json, encoded by agent-protocol/messages.ts.
 */

/** Linux MS_* values, as the agent protocol carries them. */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;

export type GuestMount =
  /** source: the host path (create only needs it, for RUNCVM_VOLUMES=9p). */
  | { kind: 'bind'; destination: string; flags: number; source?: string }
  | { kind: 'tmpfs'; destination: string; flags: number; data: string }
  /** A 9P export of the volume server (src/volumes/); file: a single-file bind (the export holds it as `file`). */
  | { kind: '9p'; destination: string; flags: number; options: string; file: boolean };
