import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasHardwareVirt, kernelCmdline, migrateToFileUri, qemuArgv, templateSnapshotKey, tscKhzFromCpuinfo, unshiftId, vmPaths, vmShape, type QemuPlan } from './plan.js';
import { reportFromProbe, resolveAccel, type HostProbe } from './capabilities.js';

const plan: QemuPlan = {
  qemuBinary: '/usr/bin/qemu-system-x86_64', accel: 'tcg', name: 'hutch-sbx_1', shape: { vcpus: 1, memoryMib: 256, network: 'none' },
  kernel: '/k/vmlinuz', initrd: '/k/initrd.img', disk: '/d/disk.qcow2', memory: { kind: 'ram' }, qmpSocket: '/d/q.sock',
  agentSocket: '/d/a0.sock', pidFile: '/d/qemu.pid', consoleLog: '/d/console.log', tscKhz: 2596134,
};
const probe: HostProbe = { arch: 'x64', kernel: '6.1', hardwareVirt: false, devKvm: true, tscKhz: 2596134, qemuVersion: '7.2.22', missingTools: [] };

describe('microvm plan', () => {
  it('plans a microvm with no network device, the agent port and the monitor', () => {
    const argv = qemuArgv(plan);
    assert.ok(argv.includes('microvm,memory-backend=mem,x-option-roms=off'));
    assert.ok(argv.includes('memory-backend-ram,id=mem,size=256M'));
    assert.ok(argv.includes('virtserialport,chardev=agent,name=agent'));
    assert.ok(argv.includes('socket,id=agent,path=/d/a0.sock,server=on,wait=off'));
    assert.ok(!argv.some((a) => a.includes('netdev')), 'network none has no netdev at all');
    assert.ok(!argv.includes('-incoming'));
    assert.equal(argv[argv.indexOf('-accel') + 1], 'tcg,tb-size=32');
  });

  it('plans a restore: paused, deferred incoming, RAM mapped privately from the template file', () => {
    const argv = qemuArgv({ ...plan, incoming: true, memory: { kind: 'file', path: '/c/ram.bin', shared: false } });
    assert.deepEqual(argv.slice(-3), ['-S', '-incoming', 'defer']);
    assert.ok(argv.includes('memory-backend-file,id=mem,size=256M,mem-path=/c/ram.bin,share=off'));
  });

  it('keeps env and secrets off the kernel command line; TSC frequency only under TCG', () => {
    assert.match(kernelCmdline(plan), /tsc_early_khz=2596134/);
    assert.doesNotMatch(kernelCmdline({ ...plan, accel: 'kvm' }), /tsc_early_khz/);
    assert.doesNotMatch(kernelCmdline(plan), /hutch\.net/);
  });

  it('gives internet and rules VMs a user-mode NIC with no host services, and none VMs nothing', () => {
    const nic = { ...plan, shape: { ...plan.shape, network: 'internet' as const } };
    const argv = qemuArgv(nic);
    assert.equal(argv[argv.indexOf('-netdev') + 1], 'user,id=net0,ipv6=off');
    assert.ok(argv.includes('virtio-net-device,netdev=net0'));
    assert.ok(!argv.some((a) => /tftp|smb|hostfwd|guestfwd|restrict/.test(a)));
    assert.match(kernelCmdline(nic), / hutch\.net=user$/);
    assert.equal(vmShape({ resources: {}, network: { mode: 'internet' } }).network, 'internet');
    assert.equal(vmShape({ resources: {}, network: { mode: 'rules', rules: [{ action: 'allow', domain: 'x.test' }] } }).network, 'internet');
    assert.equal(vmShape({ resources: {}, network: { mode: 'none' } }).network, 'none');
    const parts = { kernel: 'k', initrd: 'i', image: '/img', accel: 'tcg' as const, qemuVersion: '7.2', shape: plan.shape };
    assert.notEqual(templateSnapshotKey(parts), templateSnapshotKey({ ...parts, shape: nic.shape }));
  });

  it('reports network.internet and egress rules only with the egress shim', () => {
    assert.ok(reportFromProbe({ ...probe, egressShim: true }, 'tcg').capabilities.includes('network.egress_rules'));
    assert.ok(reportFromProbe({ ...probe, egressShim: true }, 'tcg').capabilities.includes('network.internet'));
    assert.ok(!reportFromProbe({ ...probe, egressShim: false }, 'tcg').capabilities.includes('network.internet'));
  });

  it('derives the VM shape from resources, with whole vcpus and a memory floor', () => {
    assert.deepEqual(vmShape({ resources: {}, network: { mode: 'none' } }), { vcpus: 1, memoryMib: 256, network: 'none' });
    assert.deepEqual(vmShape({ resources: { vcpus: 1.5, memoryMib: 512 }, network: { mode: 'none' } }), { vcpus: 2, memoryMib: 512, network: 'none' });
    assert.throws(() => vmShape({ resources: { memoryMib: 64 }, network: { mode: 'none' } }), { code: 'bad_request' });
  });

  it('keys template snapshots by everything a restore depends on', () => {
    const parts = { kernel: 'k', initrd: 'i', image: '/img', accel: 'tcg' as const, qemuVersion: '7.2', shape: plan.shape };
    assert.equal(templateSnapshotKey(parts), templateSnapshotKey({ ...parts }));
    assert.notEqual(templateSnapshotKey(parts), templateSnapshotKey({ ...parts, shape: { ...plan.shape, memoryMib: 512 } }));
    assert.notEqual(templateSnapshotKey(parts), templateSnapshotKey({ ...parts, initrd: 'j' }));
  });

  it('reads cpuinfo, quotes migration paths, unshifts ids and keeps socket paths short', () => {
    assert.equal(tscKhzFromCpuinfo('cpu MHz\t\t: 2596.148\n'), 2596148);
    assert.ok(hasHardwareVirt('flags\t\t: fpu vme vmx sse\n'));
    assert.ok(!hasHardwareVirt('flags\t\t: fpu vme sse\n'));
    assert.equal(migrateToFileUri("/a b/it's"), `exec:cat > '/a b/it'\\''s'`);
    assert.equal(unshiftId(101000, 100000, 65536), 1000);
    assert.equal(unshiftId(0, 100000, 65536), 0);
    assert.ok(vmPaths('/var/lib/hutch', 'sbx_0123456789abcdef').qmpSocket.length < 100);
  });

  it('never falls back to emulation silently: no vmx/svm and no opt-in is unsupported_host', () => {
    const auto = reportFromProbe(probe, 'auto');
    assert.equal(auto.health.status, 'unsupported_host');
    assert.match(JSON.stringify(auto.health), /vmx\/svm/);
    assert.ok('missing' in resolveAccel(probe, 'kvm'));
    const tcg = reportFromProbe(probe, 'tcg');
    assert.equal(tcg.health.status, 'healthy');
    assert.equal(tcg.platform.emulated, true);
    assert.match(tcg.notes.emulated!, /emulated: not a security boundary/);
    assert.deepEqual(resolveAccel({ ...probe, hardwareVirt: true }, 'auto'), { accel: 'kvm' });
    assert.equal(reportFromProbe({ ...probe, hardwareVirt: true }, 'auto').platform.emulated, false);
  });
});
