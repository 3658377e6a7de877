/**
 * Staff roles and what each may do. Permissions are cumulative: `finance` may do everything
 * `support` may, and `admin` everything `finance` may.
 */
export const STAFF_ROLES = ['support', 'finance', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

const SUPPORT_PERMISSIONS = [
  'payments.read',
  'payments.requery',
  'payments.retry',
  'refunds.request',
  'webhooks.resend',
  'audit.read',
  'channels.read',
  'stats.read',
  'reconciliations.read',
] as const;
const FINANCE_PERMISSIONS = [
  ...SUPPORT_PERMISSIONS,
  'refunds.decide',
  'risk.decide',
  'reconciliations.run',
  'reconciliations.resolve',
] as const;
const ADMIN_PERMISSIONS = [...FINANCE_PERMISSIONS, 'staff.manage', 'channels.manage'] as const;

/** Every permission a role can hold. */
export const STAFF_PERMISSIONS = ADMIN_PERMISSIONS;
export type StaffPermission = (typeof STAFF_PERMISSIONS)[number];

const PERMISSIONS_OF: Record<StaffRole, ReadonlySet<StaffPermission>> = {
  support: new Set(SUPPORT_PERMISSIONS),
  finance: new Set(FINANCE_PERMISSIONS),
  admin: new Set(ADMIN_PERMISSIONS),
};

export function isStaffRole(value: unknown): value is StaffRole {
  return typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);
}

/** Whether `role` may do `permission`; false for anything that is not a staff role. */
export function can(role: string, permission: StaffPermission): boolean {
  return isStaffRole(role) && PERMISSIONS_OF[role].has(permission);
}

/** The permissions `role` holds, in the order of {@link STAFF_PERMISSIONS}. */
export function permissionsOf(role: StaffRole): StaffPermission[] {
  return STAFF_PERMISSIONS.filter((permission) => PERMISSIONS_OF[role].has(permission));
}

/** The roles that hold `permission`, least privileged first: what to ask for when refused. */
export function rolesWith(permission: StaffPermission): StaffRole[] {
  return STAFF_ROLES.filter((role) => PERMISSIONS_OF[role].has(permission));
}
