import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLONE_NEW_MASK, DENIED_SYSCALLS } from '../../host/seccomp-policy.js';
import { CA_BUNDLE_PATH, wantsSandboxCa } from '../../host/egress/sandbox-ca.js';
import { DEFAULT_PATH } from '../../host/exec-plan.js';
import { hybridCgroup2Mount } from './capabilities.js';
import {
  AGENT_INIT_ARGS, CLONE_NEW_FLAGS, DEFAULT_CAPABILITIES, INIT_ARGS, containerPaths, planExecProcess, overlayMountsOf, planMountTable, planOciConfig, planRuntimeArgv, planSeccompProfile,
} from './plan.js';

const paths = containerPaths('/data', 'sbx_1');

describe('container plan', () => {
  it('maps ids 0..65535 to host 100000.., with every namespace and the sandbox cgroup', () => {
    const config = planOciConfig({ id: 'sbx_1', paths, resources: { memoryMib: 64, pids: 32, vcpus: 0.5 }, noNewPrivileges: false }) as any;
    assert.deepEqual(config.linux.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
    assert.deepEqual(config.linux.gidMappings, config.linux.uidMappings);
    assert.deepEqual(config.linux.namespaces.map((n: { type: string }) => n.type).sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
    assert.equal(config.linux.cgroupsPath, '/hutch/sbx_1');
    assert.deepEqual(config.linux.resources.memory, { limit: 64 * 1024 * 1024 });
    assert.deepEqual(config.linux.resources.pids, { limit: 32 });
    assert.deepEqual(config.linux.resources.cpu, { quota: 50000, period: 100000 });
    assert.equal(config.root.path, '/data/sandboxes/sbx_1/root/merged');
    assert.deepEqual(config.process.capabilities.bounding, [], 'the shell init holds no capabilities');
    assert.deepEqual(config.process.args, INIT_ARGS);
    for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware']) assert.ok(config.linux.maskedPaths.includes(p), p);
    assert.ok(config.linux.readonlyPaths.includes('/proc/sys'));
    const devpts = config.mounts.find((m: { type: string }) => m.type === 'devpts');
    assert.ok(!devpts.options.some((o: string) => o.startsWith('gid=')), 'no host gid in a user namespace');
    assert.ok(config.mounts.some((m: { destination: string; options: string[] }) => m.destination === '/etc/resolv.conf' && m.options.includes('ro')));
  });

  it('makes the exec agent pid 1 with exactly what a root exec gets', () => {
    for (const noNewPrivileges of [false, true]) {
      const config = planOciConfig({ id: 'sbx_1', paths, resources: {}, noNewPrivileges, agentInit: true }) as any;
      const rootExec = planExecProcess({ user: { uid: 0, gid: 0, home: '/root' }, env: { PATH: DEFAULT_PATH }, args: AGENT_INIT_ARGS, noNewPrivileges });
      assert.deepEqual(config.process, rootExec);
      assert.deepEqual(config.process.args, ['/proc/self/fd/4', '-f', '3', '-1']);
      assert.deepEqual(config.process.capabilities.effective, DEFAULT_CAPABILITIES);
      assert.equal(config.process.rlimits, undefined, "the runtime's limits, like a crun exec");
    }
  });

  it('leaves resources out when unlimited', () => {
    const config = planOciConfig({ id: 'sbx_1', paths, resources: {}, noNewPrivileges: true }) as any;
    assert.deepEqual(Object.keys(config.linux.resources), ['devices']);
    assert.equal(config.process.noNewPrivileges, true);
  });

  it('refuses the dangerous syscalls, setns, namespace-creating clones and clone3', () => {
    const profile = planSeccompProfile('x64') as { defaultAction: string; architectures: string[]; syscalls: Array<{ names: string[]; action: string; errnoRet?: number; args?: Array<{ value: number; valueTwo: number; op: string }> }> };
    assert.equal(profile.defaultAction, 'SCMP_ACT_ALLOW');
    assert.ok(profile.architectures.includes('SCMP_ARCH_X86_64'));
    const denied = new Set(profile.syscalls.filter((r) => !r.args && r.errnoRet === 1).flatMap((r) => r.names));
    for (const name of [...DENIED_SYSCALLS, 'setns', 'keyctl', 'add_key', 'request_key', 'mount', 'umount2', 'pivot_root', 'ptrace', 'kexec_load', 'bpf', 'userfaultfd', 'perf_event_open', 'open_by_handle_at', 'init_module', 'finit_module', 'delete_module', 'swapon', 'swapoff', 'reboot', 'unshare', 'io_uring_setup', 'io_uring_enter', 'io_uring_register']) {
      assert.ok(denied.has(name), name);
    }
    const clones = profile.syscalls.filter((r) => r.names.includes('clone') && r.args);
    assert.equal(clones.reduce((mask, r) => mask | r.args![0]!.value, 0), CLONE_NEW_MASK);
    assert.equal(CLONE_NEW_FLAGS.length, 8);
    for (const r of clones) assert.deepEqual([r.args![0]!.op, r.args![0]!.value], ['SCMP_CMP_MASKED_EQ', r.args![0]!.valueTwo]);
    assert.equal(profile.syscalls.find((r) => r.names.includes('clone3'))?.errnoRet, 38);
  });

  it('gives root Docker\'s capability set and other users none, with env in the process file', () => {
    const root = planExecProcess({ user: { uid: 0, gid: 0, home: '/root' }, env: { A: 'b' }, args: ['true'], noNewPrivileges: false }) as any;
    assert.deepEqual(root.capabilities.effective, DEFAULT_CAPABILITIES);
    assert.ok(!DEFAULT_CAPABILITIES.includes('CAP_SYS_ADMIN'));
    assert.deepEqual(root.env, ['A=b']);
    const user = planExecProcess({ user: { uid: 1000, gid: 1000, home: '/home/user' }, env: {}, args: ['true'], noNewPrivileges: false }) as any;
    assert.deepEqual(user.capabilities.effective, []);
    assert.deepEqual(user.user, { uid: 1000, gid: 1000 });
  });

  it('wraps crun in a private mount namespace without the hybrid cgroup2, and runc not at all', () => {
    const crun = planRuntimeArgv({ kind: 'crun', path: '/usr/bin/crun', root: '/data/runtime/crun', hybridUnmount: '/sys/fs/cgroup/unified' }, ['state', 'x']);
    assert.deepEqual(crun.slice(0, 4), ['/usr/bin/unshare', '-m', '--propagation', 'private']);
    assert.deepEqual(crun.slice(-6), ['/usr/bin/crun', '--root', '/data/runtime/crun', '--cgroup-manager=cgroupfs', 'state', 'x']);
    assert.deepEqual(planRuntimeArgv({ kind: 'runc', path: '/usr/sbin/runc', root: '/r' }, ['state', 'x']), ['/usr/sbin/runc', '--root', '/r', 'state', 'x']);
  });

  it("detaches other sandboxes' overlays in the private namespace, keeping only the one a run needs", () => {
    const rt = { kind: 'crun' as const, path: '/usr/bin/crun', root: '/d/runtime/crun', hybridUnmount: '/sys/fs/cgroup/unified', sandboxesDir: '/d/sandboxes' };
    const run = planRuntimeArgv(rt, ['run', 'a'], { keepMount: '/d/sandboxes/a/root/merged' });
    assert.deepEqual(run.slice(7, 10), ['/sys/fs/cgroup/unified', '/d/sandboxes', '/d/sandboxes/a/root/merged']);
    assert.match(run[6]!, /umount -l/);
    assert.equal(planRuntimeArgv(rt, ['exec', 'a'])[9], '', 'an exec keeps no overlay: it joins the container\'s own namespace');
  });

  it('joins the long-lived runtime namespace when there is one, cloning in only the overlays a run needs', () => {
    const rt = { kind: 'crun' as const, path: '/usr/bin/crun', root: '/d/runtime/crun', hybridUnmount: '/sys/fs/cgroup/unified', sandboxesDir: '/d/sandboxes' };
    const ns = { helper: '/h/hutch-mntns', pid: 42, inode: '4026532183' };
    assert.deepEqual(planRuntimeArgv(rt, ['state', 'a'], { ns }), ['/h/hutch-mntns', 'run', '-t', '42', '-i', '4026532183', '--', '/usr/bin/crun', '--root', '/d/runtime/crun', '--cgroup-manager=cgroupfs', 'state', 'a']);
    const run = planRuntimeArgv(rt, ['run', 'a'], { ns, binds: ['/d/sandboxes/a/root/merged', '/w/a/merged'] });
    assert.deepEqual(run.slice(6, 11), ['-b', '/d/sandboxes/a/root/merged', '-b', '/w/a/merged', '--']);
    const del = planRuntimeArgv(rt, ['delete', '--force', 'a'], { ns, unmounts: ['/d/sandboxes/a/root/merged'] });
    assert.deepEqual(del.slice(6, 9), ['-u', '/d/sandboxes/a/root/merged', '--']);
    const mounts = [{ path: '/', fstype: 'ext4' }, { path: '/d/sandboxes/a/root/merged', fstype: 'overlay' }, { path: '/w/a/merged', fstype: 'overlay' }, { path: '/srv', fstype: 'xfs' }];
    assert.deepEqual(overlayMountsOf(mounts, ['/d/sandboxes/a/root/merged', '/w/a/merged/src', '/w/a/merged/docs', '/srv/code', '/home/x']), ['/d/sandboxes/a/root/merged', '/w/a/merged']);
  });

  it('detects the hybrid layout only when v1 hierarchies sit beside a cgroup2', () => {
    const v1 = '32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu';
    const v2 = '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw';
    assert.equal(hybridCgroup2Mount(`${v1}\n${v2}`), '/sys/fs/cgroup/unified');
    assert.equal(hybridCgroup2Mount('41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw'), undefined);
  });

  it('serves the merged overlay as a writable root and the generated /etc files read-only', () => {
    const table = planMountTable(paths);
    assert.deepEqual(table[0], { kind: 'bind', path: '/', hostPath: '/data/sandboxes/sbx_1/root/merged', writable: true });
    assert.ok(table.some((m) => m.kind === 'bind' && m.path === '/etc/hosts' && !m.writable));
  });

  it('binds the trust bundle read-only over the system bundle only for a sandbox with secrets, never the CA dir', () => {
    assert.equal(wantsSandboxCa({ secrets: [{ name: 'K', value: 'v' }] }), true);
    assert.equal(wantsSandboxCa({ secrets: [] }), false);
    assert.equal(wantsSandboxCa({}), false);
    const plain = planOciConfig({ id: 'sbx_1', paths, resources: {}, noNewPrivileges: false }) as any;
    assert.ok(!plain.mounts.some((m: { destination: string }) => m.destination === CA_BUNDLE_PATH));
    const config = planOciConfig({ id: 'sbx_1', paths, resources: {}, noNewPrivileges: false, caBundle: true }) as any;
    const bundle = config.mounts.find((m: { destination: string }) => m.destination === CA_BUNDLE_PATH);
    assert.deepEqual(bundle, { destination: '/etc/ssl/certs/ca-certificates.crt', type: 'bind', source: '/data/sandboxes/sbx_1/etc/ca-certificates.crt', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] });
    assert.ok(!JSON.stringify(config.mounts).includes('egress-ca'), 'the CA key dir is never mounted');
    const table = planMountTable(paths, undefined, true);
    assert.ok(table.some((m) => m.kind === 'bind' && m.path === CA_BUNDLE_PATH && m.hostPath === '/data/sandboxes/sbx_1/etc/ca-certificates.crt' && !m.writable));
    assert.ok(!planMountTable(paths).some((m) => m.path === CA_BUNDLE_PATH));
  });
});
