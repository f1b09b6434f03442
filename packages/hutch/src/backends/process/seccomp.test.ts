/** Unit tests of the hand-written seccomp BPF program: arch check, x32, clone flags, deny list. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AUDIT_ARCH, CLONE_NEW_MASK, DENIED_SYSCALLS, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS,
  buildSeccompFilter, buildSeccompProgram, encodeBpf, evaluateSeccomp, syscallNumber,
} from './seccomp.js';

const EPERM = SECCOMP_RET_ERRNO | 1;
const x86 = buildSeccompProgram('x86_64');

describe('seccomp filter', () => {
  it('kills a syscall made under another architecture', () => {
    assert.equal(evaluateSeccomp(x86, { arch: 0x40000003 /* i386 */, nr: 0 }), SECCOMP_RET_KILL_PROCESS);
    assert.equal(evaluateSeccomp(x86, { arch: AUDIT_ARCH.aarch64, nr: 0 }), SECCOMP_RET_KILL_PROCESS);
  });

  it('kills x32 syscall numbers on x86_64', () => {
    assert.equal(evaluateSeccomp(x86, { arch: AUDIT_ARCH.x86_64, nr: 0x40000000 + 1 }), SECCOMP_RET_KILL_PROCESS);
  });

  it('refuses every listed syscall with EPERM', () => {
    for (const name of DENIED_SYSCALLS) {
      const nr = syscallNumber('x86_64', name);
      assert.ok(nr !== undefined, name);
      assert.equal(evaluateSeccomp(x86, { arch: AUDIT_ARCH.x86_64, nr }), EPERM, name);
    }
  });

  it('allows ordinary syscalls, setns included', () => {
    for (const nr of [0 /* read */, 1 /* write */, 59 /* execve */, 57 /* fork */, 308 /* setns */, 231 /* exit_group */]) {
      assert.equal(evaluateSeccomp(x86, { arch: AUDIT_ARCH.x86_64, nr }), SECCOMP_RET_ALLOW, String(nr));
    }
  });

  it('refuses clone with a namespace flag, allows a plain clone, and sends clone3 to ENOSYS', () => {
    const arch = AUDIT_ARCH.x86_64;
    assert.equal(evaluateSeccomp(x86, { arch, nr: 56, arg0: 0x01200011 /* fork-like */ }), SECCOMP_RET_ALLOW);
    assert.equal(evaluateSeccomp(x86, { arch, nr: 56, arg0: 0x10000000 /* CLONE_NEWUSER */ }), EPERM);
    assert.equal(evaluateSeccomp(x86, { arch, nr: 56, arg0: 0x20000000 /* CLONE_NEWPID */ }), EPERM);
    assert.ok((CLONE_NEW_MASK & 0x00000080) !== 0, 'CLONE_NEWTIME is covered');
    assert.equal(evaluateSeccomp(x86, { arch, nr: 435 }), SECCOMP_RET_ERRNO | 38);
  });

  it('builds an aarch64 program with its own numbers and arch', () => {
    const arm = buildSeccompProgram('aarch64');
    assert.equal(evaluateSeccomp(arm, { arch: AUDIT_ARCH.aarch64, nr: 40 /* mount */ }), EPERM);
    assert.equal(evaluateSeccomp(arm, { arch: AUDIT_ARCH.aarch64, nr: 165 /* getrusage there */ }), SECCOMP_RET_ALLOW);
    assert.equal(evaluateSeccomp(arm, { arch: AUDIT_ARCH.x86_64, nr: 40 }), SECCOMP_RET_KILL_PROCESS);
  });

  it('encodes sock_filter entries as 8 little-endian bytes', () => {
    const bytes = encodeBpf([{ code: 0x20, jt: 1, jf: 2, k: 0xc000003e }]);
    assert.deepEqual([...bytes], [0x20, 0x00, 0x01, 0x02, 0x3e, 0x00, 0x00, 0xc0]);
    assert.equal(buildSeccompFilter('x86_64').length, x86.length * 8);
    assert.ok(x86.length < 255, 'jump offsets fit in 8 bits');
  });
});
