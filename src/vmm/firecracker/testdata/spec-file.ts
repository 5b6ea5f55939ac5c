/**
 * Firecracker's official API document (v1.16.1, Apache-2.0, from the firecracker-microvm/firecracker
 * repository's src/firecracker/swagger/firecracker.yaml), vendored so a clone alone runs its tests.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SPEC_FILE = join(dirname(fileURLToPath(import.meta.url)), 'firecracker-api-v1.16.1.yaml');
