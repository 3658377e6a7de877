import { describe, expect, it } from 'vitest';
import { can, permissionsOf, rolesWith, STAFF_PERMISSIONS, STAFF_ROLES } from '../../src/staff/roles.js';

/** What each staff role may do (src/staff/roles.ts). */
describe('staff roles', () => {
  const support = [
    'payments.read',
    'payments.requery',
    'payments.retry',
    'refunds.request',
    'webhooks.resend',
    'audit.read',
  ] as const;

  it('lets support read and nudge payments, request refunds and read the audit trail', () => {
    for (const permission of support) expect(can('support', permission)).toBe(true);
    expect(can('support', 'refunds.decide')).toBe(false);
    expect(can('support', 'staff.manage')).toBe(false);
  });

  it('lets finance also decide refunds, but not manage staff', () => {
    for (const permission of support) expect(can('finance', permission)).toBe(true);
    expect(can('finance', 'refunds.decide')).toBe(true);
    expect(can('finance', 'staff.manage')).toBe(false);
  });

  it('lets admin do everything', () => {
    for (const permission of STAFF_PERMISSIONS) expect(can('admin', permission)).toBe(true);
    expect(permissionsOf('admin')).toEqual([...STAFF_PERMISSIONS]);
  });

  it('gives each role at least what the role below it has', () => {
    for (const [lower, higher] of [
      ['support', 'finance'],
      ['finance', 'admin'],
    ] as const) {
      for (const permission of permissionsOf(lower)) expect(can(higher, permission)).toBe(true);
      expect(permissionsOf(higher).length).toBeGreaterThan(permissionsOf(lower).length);
    }
  });

  it('grants nothing to a role that does not exist', () => {
    for (const role of ['', 'root', 'Admin', 'support ', 'toString', '__proto__']) {
      for (const permission of STAFF_PERMISSIONS) expect(can(role, permission)).toBe(false);
    }
  });

  it('names the roles that hold a permission, least privileged first', () => {
    expect(rolesWith('audit.read')).toEqual([...STAFF_ROLES]);
    expect(rolesWith('refunds.decide')).toEqual(['finance', 'admin']);
    expect(rolesWith('risk.decide')).toEqual(['finance', 'admin']);
    expect(rolesWith('staff.manage')).toEqual(['admin']);
  });
});
