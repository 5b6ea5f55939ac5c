/** The workload's process as Docker described it (OCI process): run by the agent as PID 1 of its namespace, or for docker exec. */
export interface WorkloadProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  terminal: boolean;
  consoleSize?: { rows: number; cols: number };
}
