/**
 * A container's runcvm options from all their sources: RUNCVM_* in process.env (-e or image
 * ENV) and org.runcvm.* annotations (annotations.ts), validated once by options.ts.
 */
import type { OciSpec } from '../oci/spec.ts';
import { blameAnnotation, mergeOptionSources } from './annotations.ts';
import { imageEnvOf } from './image-env.ts';
import { parseOptions, type RuncvmOptions } from './options.ts';

export function containerOptions(spec: OciSpec, containerId: string, settingsFile: string): RuncvmOptions {
  const merged = mergeOptionSources({
    env: spec.process.env ?? [],
    annotations: spec.annotations,
    imageEnv: () => imageEnvOf(spec.root.path, containerId),
  });
  try {
    return parseOptions(merged.env, settingsFile);
  } catch (e) {
    throw blameAnnotation(e, merged.fromAnnotation);
  }
}
