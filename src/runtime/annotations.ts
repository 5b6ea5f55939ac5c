/**
 * Per-container options as OCI annotations: `org.runcvm.<name>` is the option RUNCVM_<NAME>
 * (e.g. org.runcvm.hypervisor=qemu, org.runcvm.kernel_append=...), for engines that pass
 * annotations (Podman --annotation, Docker 24+ --annotation, CRI pod annotations). Precedence,
 * per option: `-e` beats an annotation, which beats the image's ENV (docs/options.md). Both
 * kinds of variable arrive merged in process.env, so the image's own ENV (image-env.ts) tells
 * them apart; where it cannot be read and the two values differ, the container is refused
 * rather than guessed. The merged RUNCVM_* set then gets the one validation (options.ts).
 */

import { OptionError } from '../contracts/errors.ts';
import { envValue } from '../oci/spec.ts';

export const ANNOTATION_PREFIX = 'org.runcvm.';
/** Annotations runcvm writes itself (rewrite.ts), not options. */
const OWN_ANNOTATIONS = new Set(['org.runcvm.rewritten']);
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

export function annotationName(variable: string): string {
  return `${ANNOTATION_PREFIX}${variable.slice('RUNCVM_'.length).toLowerCase()}`;
}

/** RUNCVM_<NAME> → value for every org.runcvm.<name> annotation; a malformed name is an error. */
export function annotationOptions(
  annotations: Readonly<Record<string, string>> | null | undefined,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION_PREFIX) || OWN_ANNOTATIONS.has(key)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    if (!NAME.test(name))
      throw new OptionError(
        `annotation ${key}: invalid name (org.runcvm.<option> in lower case, e.g. org.runcvm.hypervisor)`,
      );
    if (typeof value !== 'string') throw new OptionError(`annotation ${key}: the value must be a string`);
    out.set(`RUNCVM_${name.toUpperCase()}`, value);
  }
  return out;
}

export interface OptionSources {
  /** The workload's process.env as the engine merged it (image ENV, then -e). */
  env: readonly string[];
  annotations: Readonly<Record<string, string>> | null | undefined;
  /** The image's own ENV, or undefined when the engine's store could not be read; asked only on a conflict. */
  imageEnv: () => readonly string[] | undefined;
}

export interface MergedOptions {
  /** RUNCVM_* entries only, in the form options.ts reads. */
  env: string[];
  /** Variables whose value came from an annotation, for error messages. */
  fromAnnotation: Set<string>;
}

export function mergeOptionSources(s: OptionSources): MergedOptions {
  const env = s.env.filter((e) => e.startsWith('RUNCVM_'));
  const fromAnnotation = new Set<string>();
  for (const [key, value] of annotationOptions(s.annotations)) {
    const current = envValue(env, key);
    if (current !== undefined && current !== value) {
      const imageEnv = s.imageEnv();
      if (imageEnv === undefined) {
        throw new OptionError(
          `${key}="${current}" in the environment and annotation ${annotationName(key)}="${value}": this engine's store does not say whether the variable came from -e or the image's ENV; give the option one way only`,
        );
      }
      // The image set this very value: the annotation overrides it. Otherwise -e did, and wins.
      if (envValue(imageEnv, key) !== current) continue;
    }
    env.push(`${key}=${value}`);
    fromAnnotation.add(key);
  }
  return { env, fromAnnotation };
}

/** Rewrites "RUNCVM_X: ..." from options.ts to name the annotation the value came from. */
export function blameAnnotation(e: unknown, fromAnnotation: ReadonlySet<string>): unknown {
  if (!(e instanceof OptionError)) return e;
  const key = /^(RUNCVM_[A-Z0-9_]+)[:=]/.exec(e.message)?.[1];
  if (!key || !fromAnnotation.has(key)) return e;
  return new OptionError(`annotation ${annotationName(key)} (${key})${e.message.slice(key.length)}`);
}
