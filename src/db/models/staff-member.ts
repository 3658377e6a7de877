import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { modelOn } from './model-on.js';
import { STAFF_ROLES } from '../../staff/roles.js';

/** A staff member's name: 1 to 64 of a-z, 0-9, `.`, `_` and `-`. */
export const STAFF_NAME_PATTERN = /^[a-z0-9._-]{1,64}$/;

/**
 * Staff identities (`_id` = the name), each with one role and one bearer token, of which only the
 * hex SHA-256 is kept. A revoked member keeps its document (`revokedAt` set) so that the name
 * stays tied to its audit trail; adding the name again issues a new token and clears `revokedAt`.
 */
const staffMemberSchema = new Schema(
  {
    _id: { type: String, required: true, match: STAFF_NAME_PATTERN },
    name: { type: String, required: true, match: STAFF_NAME_PATTERN },
    role: { type: String, required: true, enum: STAFF_ROLES },
    tokenHash: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    /** When the current token was issued (the first add, or the re-add after a revocation). */
    createdAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
  },
  { collection: 'staff_members', versionKey: false },
);

export type StaffMemberDocument = InferSchemaType<typeof staffMemberSchema>;
export type StaffMemberModel = Model<StaffMemberDocument>;
export function staffMemberModel(connection: Connection): StaffMemberModel {
  return modelOn<StaffMemberModel>(connection, 'StaffMember', staffMemberSchema);
}
