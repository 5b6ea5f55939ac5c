/**
 * RUNCVM_VOLUMES=9p: what `create` decides and the launcher carries out. Bind mounts and volumes
 * reach the guest from a per-container 9P server (diod) confined in a chroot jail that holds only
 * those volumes, listening on a private point-to-point link only the guest is on (docs/storage.md).
 */

/** The link between the container's netns (server end) and the guest's own NIC. */
export interface VolumeLink {
  /** Tap in the container's netns, given to the VMM as an extra NIC. */
  tap: string;
  /** MAC of the guest NIC, which the agent finds and names `guestName`. */
  mac: string;
  guestName: string;
  serverIp: string;
  guestIp: string;
  prefix: number;
  port: number;
}

/** One exported directory of the jail; a single-file bind is a directory holding it as `file`. */
export interface VolumeExport {
  /** Path inside the jail, also the 9P attach name (aname). */
  aname: string;
  /** Host path of the bind/volume source. */
  source: string;
  readonly: boolean;
  file: boolean;
}

export interface VolumeServerSpec {
  link: VolumeLink;
  /** The jail's root in the launcher's view (bound there by runc, read-only). */
  jail: string;
  /** Attach names diod exports, in order. */
  exports: string[];
}

/** A single-file bind is exported as a directory holding the file under this name (agent protocol VOLUME_9P). */
export const FILE_IN_EXPORT = 'file';
