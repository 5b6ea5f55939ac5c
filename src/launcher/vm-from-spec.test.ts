import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installedKernelOf } from './vm-from-spec.ts';

test('the installed kernel a vmlinux path names, none for another file', () => {
  assert.equal(installedKernelOf('/opt/runcvm/kernels/runcvm/vmlinux'), 'runcvm');
  assert.equal(installedKernelOf('/opt/runcvm/kernels/debian/vmlinux'), 'debian');
  assert.equal(installedKernelOf('/opt/runcvm/kernels/custom/vmlinux'), undefined);
  assert.equal(installedKernelOf('/opt/runcvm/kernels/runcvm/vmlinuz'), undefined);
  assert.equal(installedKernelOf('/home/u/kernels/runcvm/vmlinux.old'), undefined);
});
