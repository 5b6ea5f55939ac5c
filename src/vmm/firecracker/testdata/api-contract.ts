/**
 * runcvm's contract for the Firecracker API, as test data: the endpoints and methods the driver
 * uses (config.ts, api-client.ts, driver.ts) and, for each, the request body Firecracker v1.16.1
 * accepts. Written for this project from the facts Firecracker documents for that version, not
 * copied from it: from its API description the field names, types, required fields, enums, bounds
 * and the rules its prose states; from its request parsers the form of path ids, the id in the
 * body matching the path, and the MAC's form. Bodies are closed: Firecracker's config types refuse
 * unknown fields, so a misspelt field must fail here too.
 *
 * Only what the driver sends is described; an endpoint it starts using must be added here first
 * (the checker refuses any other path). Checked by contract-check.ts.
 */

/** The Firecracker release whose API this describes (the newest version.ts accepts). */
export const API_VERSION = '1.16.1';

export type Field =
  | { type: 'string'; enum?: readonly string[]; pattern?: RegExp }
  | { type: 'integer'; minimum?: number; maximum?: number }
  | { type: 'boolean' }
  | { type: 'object'; shape: Shape };

/** A JSON object: only these fields, the required ones present. */
export interface Shape {
  fields: Readonly<Record<string, Field>>;
  required: readonly string[];
}

/** A documented constraint between fields, checked once the types are right. */
export interface Rule {
  says: string;
  holds: (body: Record<string, unknown>) => boolean;
}

export interface Endpoint {
  method: 'GET' | 'PUT' | 'PATCH';
  /** `{…}` is one path segment: an id of letters, digits and '_' (Firecracker's id check). */
  path: string;
  /** Absent: the request has no body (Firecracker refuses a GET with one). */
  body?: Shape;
  /** The body field that must equal the path's id (Firecracker compares them). */
  idField?: string;
  rules?: readonly Rule[];
  /** What a 200 answer carries, for the requests the driver reads an answer from. */
  response?: Shape;
}

const string = { type: 'string' } as const;
const boolean = { type: 'boolean' } as const;
const integer = { type: 'integer' } as const;

/** A token bucket: capacity, initial burst and refill period (ms), all non-negative. */
const tokenBucket: Shape = {
  fields: {
    size: { type: 'integer', minimum: 0 },
    one_time_burst: { type: 'integer', minimum: 0 },
    refill_time: { type: 'integer', minimum: 0 },
  },
  required: ['size', 'refill_time'],
};

/** A rate limiter: a bytes bucket and an operations bucket, both optional. */
const rateLimiter: Field = {
  type: 'object',
  shape: {
    fields: { bandwidth: { type: 'object', shape: tokenBucket }, ops: { type: 'object', shape: tokenBucket } },
    required: [],
  },
};

/** Six colon-separated two-digit hex bytes: the only form Firecracker parses a MAC from. */
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

const machineConfig: Endpoint = {
  method: 'PUT',
  path: '/machine-config',
  body: {
    fields: {
      vcpu_count: { type: 'integer', minimum: 1, maximum: 32 },
      mem_size_mib: integer,
      smt: boolean,
      track_dirty_pages: boolean,
      huge_pages: { type: 'string', enum: ['None', '2M'] },
      // Deprecated by Firecracker, still accepted in 1.16.
      cpu_template: { type: 'string', enum: ['C3', 'T2', 'T2S', 'T2CL', 'T2A', 'V1N1', 'None'] },
    },
    required: ['vcpu_count', 'mem_size_mib'],
  },
  rules: [
    {
      says: 'with smt, vcpu_count is 1 or even',
      holds: (b) => b.smt !== true || b.vcpu_count === 1 || (b.vcpu_count as number) % 2 === 0,
    },
    {
      says: 'with 2M huge pages, mem_size_mib is even',
      holds: (b) => b.huge_pages !== '2M' || (b.mem_size_mib as number) % 2 === 0,
    },
  ],
};

const bootSource: Endpoint = {
  method: 'PUT',
  path: '/boot-source',
  body: {
    fields: { kernel_image_path: string, initrd_path: string, boot_args: string },
    required: ['kernel_image_path'],
  },
};

const VIRTIO_BLOCK_ONLY = ['path_on_host', 'is_read_only', 'io_engine', 'rate_limiter'] as const;

const drive: Endpoint = {
  method: 'PUT',
  path: '/drives/{drive_id}',
  idField: 'drive_id',
  body: {
    fields: {
      drive_id: string,
      is_root_device: boolean,
      partuuid: string,
      cache_type: { type: 'string', enum: ['Unsafe', 'Writeback'] },
      // A virtio-block drive (a file on the host) ...
      path_on_host: string,
      is_read_only: boolean,
      io_engine: { type: 'string', enum: ['Sync', 'Async'] },
      rate_limiter: rateLimiter,
      // ... or a vhost-user-block one (a backend's socket).
      socket: string,
    },
    required: ['drive_id', 'is_root_device'],
  },
  rules: [
    {
      says:
        'a virtio-block drive has path_on_host and is_read_only; a vhost-user-block drive has socket ' +
        'and none of path_on_host, is_read_only, io_engine, rate_limiter',
      holds: (b) =>
        b.socket === undefined
          ? b.path_on_host !== undefined && b.is_read_only !== undefined
          : VIRTIO_BLOCK_ONLY.every((f) => b[f] === undefined),
    },
  ],
};

const networkInterface: Endpoint = {
  method: 'PUT',
  path: '/network-interfaces/{iface_id}',
  idField: 'iface_id',
  body: {
    fields: {
      iface_id: string,
      host_dev_name: string,
      guest_mac: { type: 'string', pattern: MAC },
      mtu: { type: 'integer', minimum: 68, maximum: 65535 },
      rx_rate_limiter: rateLimiter,
      tx_rate_limiter: rateLimiter,
    },
    required: ['iface_id', 'host_dev_name'],
  },
};

const vsock: Endpoint = {
  method: 'PUT',
  path: '/vsock',
  body: {
    // CIDs 0-2 are reserved (hypervisor, local, host).
    fields: { guest_cid: { type: 'integer', minimum: 3 }, uds_path: string, vsock_id: string },
    required: ['guest_cid', 'uds_path'],
  },
};

const balloon: Endpoint = {
  method: 'PUT',
  path: '/balloon',
  body: {
    fields: {
      amount_mib: integer,
      deflate_on_oom: boolean,
      stats_polling_interval_s: integer,
      free_page_hinting: boolean,
      free_page_reporting: boolean,
    },
    required: ['amount_mib', 'deflate_on_oom'],
  },
};

const actions: Endpoint = {
  method: 'PUT',
  path: '/actions',
  body: {
    fields: { action_type: { type: 'string', enum: ['FlushMetrics', 'InstanceStart', 'SendCtrlAltDel'] } },
    required: ['action_type'],
  },
};

const version: Endpoint = {
  method: 'GET',
  path: '/version',
  response: { fields: { firecracker_version: string }, required: ['firecracker_version'] },
};

export const API_CONTRACT: readonly Endpoint[] = [
  machineConfig,
  bootSource,
  drive,
  networkInterface,
  vsock,
  balloon,
  actions,
  version,
];
