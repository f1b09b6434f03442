/**
 * Pure builder of the process tier's seccomp filter as classic BPF bytes (an array of
 * `struct sock_filter`, little endian), the format bwrap's `--seccomp FD` and
 * `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)` take. No libseccomp: the program is small enough to
 * write by hand, and every instruction is unit-tested.
 *
 * Program shape:
 *   1. kill the process unless `seccomp_data.arch` is the expected one (a 32-bit or x32 entry
 *      point would use another syscall table and walk past the list);
 *   2. on x86_64, kill any syscall number with the x32 bit set;
 *   3. `clone` with any CLONE_NEW* flag and `clone3` fail (clone3's flags live in memory a filter
 *      cannot read, so it gets ENOSYS and libc falls back to `clone`);
 *   4. every listed syscall fails with EPERM; everything else is allowed.
 *
 * `setns` stays allowed on purpose: exec enters the sandbox with `nsenter` after the filter is
 * installed, and inside the sandbox only the sandbox's own namespace files are reachable.
 */

export type SeccompArch = 'x86_64' | 'aarch64';

/** AUDIT_ARCH_* values from <linux/audit.h>. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

import { CLONE_NEW_MASK, DENIED_SYSCALLS } from '../../host/seccomp-policy.js';

export { CLONE_NEW_MASK, DENIED_SYSCALLS };

export type DeniedSyscall = (typeof DENIED_SYSCALLS)[number];

/** Syscall numbers per architecture; `undefined` where the syscall does not exist there. */
const NUMBERS: Record<SeccompArch, Partial<Record<DeniedSyscall | 'clone' | 'clone3', number>>> = {
  x86_64: {
    keyctl: 250, add_key: 248, request_key: 249,
    mount: 165, umount2: 166, pivot_root: 155, move_mount: 429, open_tree: 428, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, kcmp: 312,
    kexec_load: 246, kexec_file_load: 320, init_module: 175, finit_module: 313, delete_module: 176,
    bpf: 321, userfaultfd: 323, perf_event_open: 298, open_by_handle_at: 304, name_to_handle_at: 303,
    swapon: 167, swapoff: 168, reboot: 169, acct: 163, quotactl: 179,
    settimeofday: 164, clock_settime: 227, clock_adjtime: 305, adjtimex: 159, syslog: 103,
    unshare: 272, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    iopl: 172, ioperm: 173, uselib: 134, lookup_dcookie: 212, vhangup: 153,
    clone: 56, clone3: 435,
  },
  aarch64: {
    keyctl: 219, add_key: 217, request_key: 218,
    mount: 40, umount2: 39, pivot_root: 41, move_mount: 429, open_tree: 428, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    ptrace: 117, process_vm_readv: 270, process_vm_writev: 271, kcmp: 272,
    kexec_load: 104, kexec_file_load: 294, init_module: 105, finit_module: 273, delete_module: 106,
    bpf: 280, userfaultfd: 282, perf_event_open: 241, open_by_handle_at: 265, name_to_handle_at: 264,
    swapon: 224, swapoff: 225, reboot: 142, acct: 89, quotactl: 60,
    settimeofday: 170, clock_settime: 112, clock_adjtime: 266, adjtimex: 171, syslog: 116,
    unshare: 97, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    lookup_dcookie: 18, vhangup: 58,
    clone: 220, clone3: 435,
  },
};

// BPF opcodes (linux/filter.h, linux/bpf_common.h) and seccomp return values.
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;
const X32_SYSCALL_BIT = 0x40000000;
// Offsets in struct seccomp_data: nr (u32), arch (u32), ip (u64), args[6] (u64, low half first on LE).
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const OFFSET_ARG0_LOW = 16;

/** One BPF instruction. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** The syscall number of `name` on `arch`, or undefined if it has none there. */
export function syscallNumber(arch: SeccompArch, name: DeniedSyscall | 'clone' | 'clone3'): number | undefined {
  return NUMBERS[arch][name];
}

/** Builds the filter as instructions (see the module comment for its shape). */
export function buildSeccompProgram(arch: SeccompArch, denied: readonly DeniedSyscall[] = DENIED_SYSCALLS): BpfInstruction[] {
  const numbers = [...new Set(denied.map((n) => NUMBERS[arch][n]).filter((n): n is number => n !== undefined))];
  const clone = NUMBERS[arch].clone!;
  const clone3 = NUMBERS[arch].clone3!;
  const prog: BpfInstruction[] = [
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFFSET_ARCH },
    { code: JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH[arch] },
    { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_KILL_PROCESS },
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFFSET_NR },
  ];
  if (arch === 'x86_64') {
    prog.push({ code: JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT }, { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_KILL_PROCESS });
  }
  // clone3 → ENOSYS; clone with a namespace flag → EPERM.
  prog.push(
    { code: JEQ_K, jt: 0, jf: 1, k: clone3 },
    { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | ENOSYS },
    { code: JEQ_K, jt: 0, jf: 4, k: clone },
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFFSET_ARG0_LOW },
    { code: JSET_K, jt: 0, jf: 1, k: CLONE_NEW_MASK },
    { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | EPERM },
    { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
  );
  // The list: each JEQ jumps forward to the shared EPERM return placed after ALLOW.
  numbers.forEach((nr, i) => {
    const remaining = numbers.length - 1 - i;
    prog.push({ code: JEQ_K, jt: remaining + 1, jf: 0, k: nr });
  });
  prog.push({ code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW }, { code: RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | EPERM });
  if (numbers.length > 250) throw new RangeError('Too many syscalls for 8-bit BPF jumps.');
  return prog;
}

/** Encodes instructions as the bytes of a `struct sock_filter[]` (8 bytes each, little endian). */
export function encodeBpf(prog: readonly BpfInstruction[]): Buffer {
  const out = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8(ins.jt, i * 8 + 2);
    out.writeUInt8(ins.jf, i * 8 + 3);
    out.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return out;
}

/** The filter bytes for `arch` (see `buildSeccompProgram`). */
export function buildSeccompFilter(arch: SeccompArch, denied?: readonly DeniedSyscall[]): Buffer {
  return encodeBpf(buildSeccompProgram(arch, denied));
}

/** Maps Node's `process.arch` to a seccomp arch, or undefined when unsupported. */
export function seccompArchFor(nodeArch: string): SeccompArch | undefined {
  return nodeArch === 'x64' ? 'x86_64' : nodeArch === 'arm64' ? 'aarch64' : undefined;
}

/** Runs the program over a syscall (a tiny BPF interpreter, for tests and self-checks). */
export function evaluateSeccomp(prog: readonly BpfInstruction[], data: { arch: number; nr: number; arg0?: number }): number {
  let acc = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const ins = prog[pc]!;
    switch (ins.code) {
      case LD_W_ABS:
        acc = ins.k === OFFSET_ARCH ? data.arch : ins.k === OFFSET_NR ? data.nr : ins.k === OFFSET_ARG0_LOW ? (data.arg0 ?? 0) >>> 0 : 0;
        break;
      case JEQ_K:
        pc += acc >>> 0 === ins.k >>> 0 ? ins.jt : ins.jf;
        break;
      case JGE_K:
        pc += acc >>> 0 >= ins.k >>> 0 ? ins.jt : ins.jf;
        break;
      case JSET_K:
        pc += (acc & ins.k) !== 0 ? ins.jt : ins.jf;
        break;
      case RET_K:
        return ins.k >>> 0;
      default:
        throw new RangeError(`unknown BPF opcode ${ins.code}`);
    }
  }
  throw new RangeError('BPF program fell off the end');
}
