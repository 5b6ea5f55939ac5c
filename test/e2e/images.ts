/** Extra test images built from test/images/<dir> on first use (Docker's build cache makes reruns instant). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docker } from './docker.ts';

const IMAGES = join(dirname(fileURLToPath(import.meta.url)), '..', 'images');

export async function ensureImage(name: string, dir: string): Promise<string> {
  const r = await docker(['build', '-q', '-t', name, join(IMAGES, dir)], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`building ${name} from test/images/${dir}: ${r.stderr}`);
  return name;
}
