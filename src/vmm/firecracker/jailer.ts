/**
 * Optional jailer (RUNCVM_JAILER=1): Firecracker's own sandbox (chroot, namespaces, cgroups,
 * dropped privileges). Only the command line lives here; paths inside the jail are relative to
 * its chroot, so the driver hard-links the kernel, initrd and drives into it first.
 */
export interface JailerOptions {
  jailer: string;
  firecracker: string;
  id: string;
  uid: number;
  gid: number;
  chrootBase: string;
  /** The container's netns is already the launcher's own: no --netns needed. */
  netns?: string;
}

/** Where the jail's root is: <base>/<exec-file name>/<id>/root (jailer's layout). */
export function jailRoot(o: JailerOptions): string {
  const exec = o.firecracker.split('/').pop() as string;
  return `${o.chrootBase}/${exec}/${o.id}/root`;
}

export function jailerArgv(o: JailerOptions, firecrackerArgs: string[]): string[] {
  if (!/^[a-zA-Z0-9-]{1,64}$/.test(o.id)) throw new Error(`jailer id "${o.id}": only letters, digits and '-', at most 64`);
  return [
    '--id', o.id,
    '--exec-file', o.firecracker,
    '--uid', String(o.uid),
    '--gid', String(o.gid),
    '--chroot-base-dir', o.chrootBase,
    ...(o.netns ? ['--netns', o.netns] : []),
    '--',
    ...firecrackerArgs,
  ];
}
