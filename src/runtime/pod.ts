/**
 * What a container created through Kubernetes' CRI (containerd or CRI-O) becomes. A pod is a
 * sandbox ("pause") container that only holds the pod's namespaces, plus the pod's containers,
 * which join the sandbox's network (and IPC, optionally PID) namespace by path.
 *
 * Decision (docs/engines.md, "Kubernetes"): one VM per workload container, none for the sandbox.
 * - sandbox: passed to runc untouched. It runs nothing but `pause`; a VM for it would cost a boot
 *   and ~300 MiB per pod for a process that only sleeps, and the CNI plugin configures its netns
 *   from the host, which must stay a plain host netns.
 * - container: its own VM, in the pod's cgroup, joining the pod's netns. That netns is shared
 *   with the sandbox and every other container of the pod, so its interfaces are never taken
 *   over: the guest gets the shared-namespace (user-mode) network, like `--network container:X`.
 */
import type { OciSpec } from '../oci/spec.ts';

export type PodRole =
  | { kind: 'plain' }
  | { kind: 'sandbox'; engine: CriEngine; why: string }
  | { kind: 'container'; engine: CriEngine; sandboxId: string; pod: string; container: string };

export type CriEngine = 'containerd' | 'cri-o';

/** containerd's CRI plugin (pkg/cri/annotations) and CRI-O (pkg/annotations) label every container. */
const CONTAINERD = {
  type: 'io.kubernetes.cri.container-type',
  sandboxId: 'io.kubernetes.cri.sandbox-id',
  sandboxName: 'io.kubernetes.cri.sandbox-name',
  sandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  containerName: 'io.kubernetes.cri.container-name',
};
const CRIO = {
  type: 'io.kubernetes.cri-o.ContainerType',
  sandboxId: 'io.kubernetes.cri-o.SandboxID',
  sandboxName: 'io.kubernetes.pod.name',
  sandboxNamespace: 'io.kubernetes.pod.namespace',
  containerName: 'io.kubernetes.container.name',
};

export function podRole(spec: OciSpec): PodRole {
  const a = spec.annotations ?? {};
  for (const [engine, keys] of [
    ['containerd', CONTAINERD],
    ['cri-o', CRIO],
  ] as const) {
    const type = a[keys.type];
    if (type === undefined) continue;
    if (type === 'sandbox') return { kind: 'sandbox', engine, why: `${keys.type}=sandbox` };
    if (type === 'container') {
      return {
        kind: 'container',
        engine,
        sandboxId: a[keys.sandboxId] ?? '',
        pod: `${a[keys.sandboxNamespace] ?? ''}/${a[keys.sandboxName] ?? ''}`,
        container: a[keys.containerName] ?? '',
      };
    }
    throw new Error(`${keys.type}: unknown value "${type}" (expected sandbox or container)`);
  }
  return { kind: 'plain' };
}
