/** Unit tests of the pure planning functions: mounts, bwrap argv, /etc, users, env, exec and cgroups. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HOST_ETC_ENTRIES, cgroupDirs, cgroupProcsFiles, checkSpec, parsePasswd, planCgroupWrites, planEtcFiles, planExecArgv, planExecEnv, planInitArgv,
  planMounts, renderBwrapMounts, resolveExecUser, sandboxPaths, type CgroupLayout, type RootEntry,
} from './plan.js';
import { parseCgroupLayout } from '../../host/cgroups.js';
import { locate, virtualChildren } from '../../host/confined-files.js';

const paths = sandboxPaths('/data', 'sbx_a');
const merged: RootEntry[] = [
  { name: 'usr', type: 'dir' },
  { name: 'bin', type: 'symlink', target: 'usr/bin' },
  { name: 'lib', type: 'symlink', target: 'usr/lib' },
  { name: 'lib64', type: 'symlink', target: 'usr/lib64' },
  { name: 'sbin', type: 'symlink', target: 'usr/sbin' },
];

describe('planMounts', () => {
  it('binds host system dirs read-only, recreates merged-usr symlinks, and gives /workspace and /tmp', () => {
    const mounts = planMounts({ paths, rootEntries: merged });
    assert.deepEqual(mounts.find((m) => m.path === '/usr'), { kind: 'bind', path: '/usr', hostPath: '/usr', writable: false });
    assert.deepEqual(mounts.find((m) => m.path === '/bin'), { kind: 'symlink', path: '/bin', target: 'usr/bin' });
    assert.deepEqual(mounts.find((m) => m.path === '/workspace'), { kind: 'bind', path: '/workspace', hostPath: '/data/sandboxes/sbx_a/workspace', writable: true });
    assert.deepEqual(mounts.find((m) => m.path === '/tmp'), { kind: 'bind', path: '/tmp', hostPath: '/data/sandboxes/sbx_a/tmp', writable: true });
    assert.ok(mounts.some((m) => m.kind === 'proc') && mounts.some((m) => m.kind === 'dev'));
  });

  it('never exposes the host /etc wholesale, nor /root, /home, /run, /var, /work', () => {
    const mounts = planMounts({ paths, rootEntries: [...merged, { name: 'etc', type: 'dir' }, { name: 'root', type: 'dir' }, { name: 'home', type: 'dir' }, { name: 'var', type: 'dir' }, { name: 'work', type: 'dir' }, { name: 'run', type: 'dir' }] });
    const hostSources = mounts.flatMap((m) => (m.kind === 'bind' ? [m.hostPath] : []));
    for (const banned of ['/etc', '/root', '/home', '/var', '/work', '/run', '/etc/ssl', '/etc/ssl/private', '/etc/shadow']) assert.ok(!hostSources.includes(banned), banned);
    assert.ok(hostSources.includes('/data/sandboxes/sbx_a/etc/passwd'));
    for (const name of HOST_ETC_ENTRIES) assert.ok(mounts.some((m) => m.kind === 'bind' && m.hostPath === `/etc/${name}` && m.optional), name);
  });

  it('roots a template sandbox in its writable overlay, keeping the template /etc but generated host names', () => {
    const mounts = planMounts({ paths, rootfsPath: '/tpl', rootEntries: [] });
    assert.deepEqual(mounts[0], { kind: 'bind', path: '/', hostPath: paths.merged, writable: true });
    assert.ok(mounts.some((m) => m.kind === 'bind' && m.path === '/etc/resolv.conf' && !m.writable));
    assert.ok(!mounts.some((m) => m.kind === 'bind' && m.path === '/etc/passwd'), 'the template keeps its own users');
    assert.ok(!mounts.some((m) => m.kind === 'bind' && m.hostPath.startsWith('/tpl')), 'the template is only ever the overlay lower layer');
    const argv = planInitArgv({ mounts, hostname: 'h', seccompFd: 3, infoFd: 4 });
    assert.ok(!argv.includes('--remount-ro'), 'the overlay root stays writable');
    assert.deepEqual(locate(mounts, '/home/user/x'), { kind: 'host', hostPath: `${paths.merged}/home/user/x`, mountHostPath: paths.merged, writable: true });
    assert.equal((locate(mounts, '/workspace/a') as { hostPath: string }).hostPath, `${paths.workspace}/a`);
  });
});

describe('planInitArgv', () => {
  it('unshares every namespace but user (made by the prelude), drops caps, installs seccomp, and never dies with the parent', () => {
    const argv = planInitArgv({ mounts: planMounts({ paths, rootEntries: merged }), hostname: 'sbx-a', seccompFd: 3, infoFd: 4 });
    for (const flag of ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup', '--cap-drop']) assert.ok(argv.includes(flag), flag);
    assert.ok(!argv.includes('--die-with-parent'));
    assert.ok(!argv.includes('--share-net'));
    assert.deepEqual(argv.slice(argv.indexOf('--seccomp'), argv.indexOf('--seccomp') + 2), ['--seccomp', '3']);
    assert.deepEqual(argv.slice(argv.indexOf('--remount-ro'), argv.indexOf('--remount-ro') + 2), ['--remount-ro', '/']);
  });

  it('renders optional binds with the -try variants', () => {
    assert.deepEqual(renderBwrapMounts([{ kind: 'bind', path: '/etc/x', hostPath: '/etc/x', writable: false, optional: true }]), ['--ro-bind-try', '/etc/x', '/etc/x']);
  });
});

describe('users, env and exec argv', () => {
  const passwd = parsePasswd(planEtcFiles('sbx_a', { mode: 'none' }).passwd!);

  it('resolves users by name or uid, defaulting to root', () => {
    assert.deepEqual(resolveExecUser(undefined, passwd), { uid: 0, gid: 0, home: '/workspace' });
    assert.equal(resolveExecUser('user', passwd)?.uid, 1000);
    assert.equal(resolveExecUser('1000', passwd)?.gid, 1000);
    assert.equal(resolveExecUser('4242', passwd)?.gid, 4242);
    assert.equal(resolveExecUser('nobody-here', passwd), undefined);
    assert.equal(resolveExecUser('70000', passwd), undefined, 'outside the mapped id range');
  });

  it('builds env from defaults, sandbox and exec, without the host environment', () => {
    const env = planExecEnv({ A: 'sandbox', B: 'sandbox' }, { B: 'exec' }, { uid: 0, gid: 0, home: '/workspace' }, false);
    assert.equal(env.B, 'exec');
    assert.equal(env.A, 'sandbox');
    assert.equal(env.HOME, '/workspace');
    assert.ok(!('TERM' in env));
    assert.equal(Object.keys(env).some((k) => k === 'USER' || k === 'SSH_AUTH_SOCK'), false);
  });

  it('enters every namespace of the init and runs the command through a pid-reporting wrapper', () => {
    const argv = planExecArgv({ initPid: 42, user: { uid: 1000, gid: 1000, home: '/workspace' }, cwd: '/tmp', cmd: 'echo', args: ['a b'], pidFd: 3 });
    assert.deepEqual(argv.slice(0, 3), ['/usr/bin/nsenter', '-t', '42']);
    for (const flag of ['-U', '-m', '-u', '-i', '-n', '-p', '-r']) assert.ok(argv.includes(flag), flag);
    assert.deepEqual(argv.slice(argv.indexOf('-S'), argv.indexOf('-S') + 4), ['-S', '1000', '-G', '1000']);
    assert.deepEqual(argv.slice(-3), ['/tmp', 'echo', 'a b']);
    assert.match(argv.find((a) => a.includes('exec "$@"'))!, /echo \$\$ >&3/);
    const pty = planExecArgv({ initPid: 42, user: { uid: 0, gid: 0, home: '/' }, cwd: '/', shell: 'ls' });
    assert.match(pty.find((a) => a.includes('exec "$@"'))!, /hutch-pid/);
  });

  it('writes resolv.conf only for internet mode', () => {
    assert.equal(planEtcFiles('sbx_a', { mode: 'none' })['resolv.conf'], '');
    assert.match(planEtcFiles('sbx_a', { mode: 'internet' })['resolv.conf']!, /10\.0\.2\.3/);
  });

  it('rejects ids that are unsafe as path components', () => {
    const base = { resources: {}, env: {}, network: { mode: 'none' as const } };
    assert.equal(checkSpec({ id: 'sbx_ok-1', ...base }), undefined);
    for (const id of ['../x', 'a/b', '', '.hidden']) assert.ok(checkSpec({ id, ...base }), id);
    assert.ok(checkSpec({ id: 'sbx', ...base, resources: { memoryMib: -1 } }));
  });
});

describe('cgroups', () => {
  const v1: CgroupLayout = { mode: 'v1', mounts: { memory: '/cg/memory', pids: '/cg/pids', cpu: '/cg/cpu', cpuacct: '/cg/cpuacct', freezer: '/cg/freezer' } };
  const v2: CgroupLayout = { mode: 'v2', root: '/cg', controllers: ['cpu', 'memory', 'pids'] };

  it('detects v1 controllers from mountinfo (hybrid host) and pure v2', () => {
    const hybrid = [
      '30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
      '31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '32 25 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
      '33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
    ].join('\n');
    const layout = parseCgroupLayout(hybrid, () => 'hugetlb');
    assert.equal(layout.mode, 'v1');
    if (layout.mode === 'v1') assert.equal(layout.mounts.cpuacct, '/sys/fs/cgroup/cpu,cpuacct');
    const pure = parseCgroupLayout('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw', () => 'cpuset cpu io memory pids');
    assert.deepEqual(pure, { mode: 'v2', root: '/sys/fs/cgroup', controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'] });
    assert.deepEqual(parseCgroupLayout(hybrid.split('\n')[0]!, () => 'hugetlb'), { mode: 'none' });
  });

  it('plans hutch/<id> dirs and limit writes for v1 and v2', () => {
    assert.ok(cgroupDirs(v1, 'sbx_a').includes('/cg/memory/hutch/sbx_a'));
    assert.deepEqual(cgroupProcsFiles(v2, 'sbx_a'), ['/cg/hutch/sbx_a/cgroup.procs']);
    const r = { memoryMib: 64, pids: 32, vcpus: 0.5 };
    assert.deepEqual(planCgroupWrites(v1, 'sbx_a', r).map((w) => `${w.dir}/${w.file}=${w.value}`), [
      '/cg/memory/hutch/sbx_a/memory.limit_in_bytes=67108864',
      '/cg/memory/hutch/sbx_a/memory.memsw.limit_in_bytes=67108864',
      '/cg/pids/hutch/sbx_a/pids.max=32',
      '/cg/cpu/hutch/sbx_a/cpu.cfs_period_us=100000',
      '/cg/cpu/hutch/sbx_a/cpu.cfs_quota_us=50000',
    ]);
    assert.deepEqual(planCgroupWrites(v2, 'sbx_a', r).map((w) => `${w.file}=${w.value}`), ['memory.max=67108864', 'memory.swap.max=0', 'pids.max=32', 'cpu.max=50000 100000']);
    assert.deepEqual(planCgroupWrites(v2, 'sbx_a', {}), []);
  });
});

describe('files path mapping', () => {
  const mounts = planMounts({ paths, rootEntries: merged });

  it('maps the writable mounts and the read-only root, and hides /proc and /dev', () => {
    assert.deepEqual(locate(mounts, '/workspace/a/b'), { kind: 'host', hostPath: '/data/sandboxes/sbx_a/workspace/a/b', mountHostPath: '/data/sandboxes/sbx_a/workspace', writable: true });
    assert.equal(locate(mounts, '/usr/bin/env').kind, 'host');
    assert.equal((locate(mounts, '/usr/bin/env') as { writable: boolean }).writable, false);
    assert.deepEqual(locate(mounts, '/bin'), { kind: 'symlink', target: 'usr/bin' });
    assert.equal(locate(mounts, '/proc/1/root').kind, 'special');
    assert.equal(locate(mounts, '/etc').kind, 'virtual');
    assert.equal(locate(mounts, '/etc/shadow').kind, 'missing');
    assert.equal(locate(mounts, '/root').kind, 'missing');
  });

  it('lists virtual directories from the mount table', () => {
    const names = virtualChildren(mounts, '/').map((c) => c.name).sort();
    assert.deepEqual(names, ['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr', 'workspace']);
    assert.ok(virtualChildren(mounts, '/etc').some((c) => c.name === 'ssl' && c.entry === undefined));
  });
});
