/** Unit tests of the microVM bench arithmetic (vm-figures.ts) and the bare QEMU plan (microvm-baselines.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { qemuArgv } from '../src/backends/microvm/plan.js';
import { bareQemuPlan, bareVm, type BareQemuInputs } from './microvm-baselines.js';
import { cpuTicksFromStat, creationRatePerCore, idleCpuPercent, microvmLabel, vmMemoryFigures } from './vm-figures.js';

const MIB = 1024 * 1024;

describe('microvm bench figures', () => {
  it('labels the tier with its acceleration', () => {
    assert.equal(microvmLabel('tcg'), 'microvm (tcg)');
    assert.equal(microvmLabel('kvm'), 'microvm (kvm)');
  });

  it('divides the MemAvailable drop by the VM count and averages RSS/PSS per VM', () => {
    const f = vmMemoryFigures(4, 1000 * MIB, 600 * MIB, [
      { rssBytes: 110 * MIB, pssBytes: 70 * MIB },
      { rssBytes: 130 * MIB, pssBytes: 90 * MIB },
    ]);
    assert.deepEqual(f, { memAvailableDeltaMib: 100, rssMib: 120, pssMib: 80, measured: 2 });
  });

  it('reports NaN rather than dividing by zero when nothing was started or read', () => {
    const f = vmMemoryFigures(0, 1, 1, []);
    assert.ok(Number.isNaN(f.memAvailableDeltaMib) && Number.isNaN(f.rssMib) && Number.isNaN(f.pssMib));
    assert.ok(Number.isNaN(idleCpuPercent([], [], 100, 5)));
    assert.ok(Number.isNaN(creationRatePerCore(3, 0, 2)));
  });

  it('reads utime + stime from a stat line whose command name has spaces and parentheses', () => {
    const stat = '4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 12345 1000 100';
    assert.equal(cpuTicksFromStat(stat), 325);
    assert.equal(cpuTicksFromStat(''), undefined);
  });

  it('gives idle CPU in % of one core per process', () => {
    // Two processes, 5 s at 100 ticks/s: 10 and 30 ticks → 2 % and 6 % → mean 4 %.
    assert.equal(idleCpuPercent([100, 200], [110, 230], 100, 5), 4);
  });

  it('gives the creation rate per core', () => {
    assert.equal(creationRatePerCore(4, 2000, 2), 1);
  });
});

describe('bare QEMU plan', () => {
  const inputs: BareQemuInputs = {
    qemu: '/usr/bin/qemu-system-x86_64', qemuImg: '/usr/bin/qemu-img', accel: 'tcg', tscKhz: 2_596_134,
    kernel: '/c/vmlinuz', initrd: '/c/initrd.img', image: '/c/base.ext4', shape: { vcpus: 1, memoryMib: 256, network: 'none' },
  };

  it('keeps every file of a bare VM in its own directory under the given one', () => {
    const vm = bareVm('/s/bare', 3);
    assert.equal(vm.name, 'hutch-bench-bare-3');
    for (const p of [vm.disk, vm.qmpSocket, vm.agentSocket, vm.pidFile, vm.consoleLog]) assert.ok(p.startsWith('/s/bare/hutch-bench-bare-3/'), p);
  });

  it('boots with the backend’s command line: same kernel, initramfs, memory and accel, named for the bench', () => {
    const argv = qemuArgv(bareQemuPlan(inputs, bareVm('/s/bare', 0), { kind: 'ram' }, false));
    assert.equal(argv[argv.indexOf('-name') + 1], 'hutch-bench-bare-0');
    assert.equal(argv[argv.indexOf('-kernel') + 1], '/c/vmlinuz');
    assert.equal(argv[argv.indexOf('-initrd') + 1], '/c/initrd.img');
    assert.equal(argv[argv.indexOf('-m') + 1], '256M');
    assert.match(argv[argv.indexOf('-accel') + 1]!, /^tcg/);
    assert.match(argv[argv.indexOf('-append') + 1]!, /tsc_early_khz=2596134/);
    assert.ok(!argv.includes('-incoming'));
  });

  it('restores with the snapshot RAM file mapped privately and waits for migrate-incoming', () => {
    const argv = qemuArgv(bareQemuPlan(inputs, bareVm('/s/bare', 1), { kind: 'file', path: '/t/ram.bin', shared: false }, true));
    assert.ok(argv.some((a) => a.includes('mem-path=/t/ram.bin') && a.includes('share=off')));
    assert.deepEqual(argv.slice(-3), ['-S', '-incoming', 'defer']);
  });
});
