/**
 * Whether a file can run in the guest as a `runcvm debug` program: a static x86-64 ELF
 * executable (no program interpreter, since the guest's root is the workload's image, whose libc
 * may be anything or nothing). Reads only the headers it is given.
 */
const PT_INTERP = 3;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_X86_64 = 62;

/** undefined when `buf` (the whole file) is a static x86-64 executable, else why not. */
export function staticElfProblem(buf: Buffer): string | undefined {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file';
  if (buf[4] !== 2 || buf[5] !== 1) return 'not a 64-bit little-endian ELF file';
  const type = buf.readUInt16LE(16);
  if (type !== ET_EXEC && type !== ET_DYN) return 'not an ELF executable';
  if (buf.readUInt16LE(18) !== EM_X86_64) return 'not an x86-64 program';
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  if (phentsize < 4 || phoff + phentsize * phnum > buf.length) return 'truncated program headers';
  for (let i = 0; i < phnum; i++)
    if (buf.readUInt32LE(phoff + i * phentsize) === PT_INTERP)
      return 'dynamically linked (it needs a program interpreter the guest may not have)';
  return undefined;
}
