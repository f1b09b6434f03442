/** Unit tests of the launcher's argv planners (host/launcher.ts); the launcher itself is exercised by the process-tier suites. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planLaunchAgentArgv, planLaunchExecArgv, planLaunchInitArgv, planLaunchListenArgv } from './launcher.js';

describe('launcher argv', () => {
  it('puts cgroups, the user namespace and the kept fds before bwrap', () => {
    const argv = planLaunchInitArgv({ launcher: '/l', cgroupProcs: ['/cg/a/cgroup.procs', '/cg/b/cgroup.procs'], usernsHostBase: 100000, keepFds: 5, argv: ['/usr/bin/bwrap', '--', 'sleep'] });
    assert.deepEqual(argv, ['/l', 'init', '-c', '/cg/a/cgroup.procs', '-c', '/cg/b/cgroup.procs', '-U', '100000', '-k', '5', '--', '/usr/bin/bwrap', '--', 'sleep']);
  });

  it('plans a command exec with a pid fd, and a PTY shell exec without one', () => {
    const base = { launcher: '/l', initPid: 42, cgroupProcs: ['/cg/cgroup.procs'], seccompFile: '/d/seccomp.bpf', uid: 1000, gid: 1000, cwd: '/tmp' };
    assert.deepEqual(planLaunchExecArgv({ ...base, cmd: 'echo', args: ['a b', '--'], pidFd: 3 }), [
      '/l', 'exec', '-t', '42', '-c', '/cg/cgroup.procs', '-s', '/d/seccomp.bpf', '-u', '1000', '-g', '1000', '-d', '/tmp', '-p', '3', '--', 'echo', 'a b', '--',
    ]);
    assert.deepEqual(planLaunchExecArgv({ ...base, shell: 'ls -l | wc' }).slice(-3), ['-S', '--', 'ls -l | wc']);
    assert.ok(!planLaunchExecArgv({ ...base, shell: 'x' }).includes('-p'));
  });

  it('starts the exec agent as the sandbox root with its host socket, by fd, shielded from the OOM killer', () => {
    const argv = planLaunchAgentArgv({ launcher: '/l', agent: '/b/hutch-agent', socket: '/d/agent.sock', initPid: 7, cgroupProcs: ['/cg/cgroup.procs'], seccompFile: '/d/s.bpf' });
    assert.deepEqual(argv, ['/l', 'exec', '-t', '7', '-c', '/cg/cgroup.procs', '-s', '/d/s.bpf', '-u', '0', '-g', '0', '-d', '/', '-L', '/d/agent.sock', '-x', '/b/hutch-agent', '-O', '--', 'hutch-agent']);
  });

  it('puts the listen mode in front of a runtime call', () => {
    assert.deepEqual(planLaunchListenArgv('/l', '/b/hutch-agent', '/d/agent.sock', ['crun', 'run']), ['/l', 'listen', '-L', '/d/agent.sock', '-x', '/b/hutch-agent', '-O', '--', 'crun', 'run']);
  });
});
