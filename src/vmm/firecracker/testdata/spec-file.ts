/** Firecracker's official API document, kept beside the repository in ../shared (also in CI). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SPEC_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/firecracker/firecracker-api-v1.16.1.yaml');
