import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';

/**
 * Seals on the messages that move money or decide a payment's fate, so a workflow can tell the
 * API's messages from anyone else's who can reach Temporal (its gRPC port, the Web UI's Update
 * form). The API and the workers share one HMAC-SHA256 key (`workflowMessageKey` in the keyring);
 * the workflow checks a seal through a local activity, never trusting what it cannot verify.
 *
 * A seal covers the message kind, the target workflow id and the message's canonical JSON, so a
 * sealed message cannot be replayed to another payment or passed off as another kind.
 */
export type SealedMessageKind =
  | 'channel-notification'
  | 'refund-request'
  | 'refund-notification'
  | 'staff-nudge'
  | 'checkout-method';

export class MessageSealer {
  private readonly key: Buffer;

  constructor(keyBase64: string | undefined) {
    if (!keyBase64) {
      throw new Error('the keyring has no workflowMessageKey: add one (32 random bytes, base64) to keyring.json');
    }
    this.key = Buffer.from(keyBase64, 'base64');
    if (this.key.length !== 32) throw new Error('workflowMessageKey must be 32 bytes, base64');
  }

  private mac(domain: string, parts: unknown): string {
    return createHmac('sha256', this.key)
      .update(`${domain}\n${canonicalJson(parts)}`)
      .digest('base64url');
  }

  /** The seal of `message` (which must not carry a `seal` member itself) for `workflowId`. */
  seal(kind: SealedMessageKind, workflowId: string, message: object): string {
    return this.mac(`seal:${kind}`, { workflowId, message: { ...message, seal: undefined } });
  }

  verify(kind: SealedMessageKind, workflowId: string, message: { seal?: string | undefined }): boolean {
    if (typeof message.seal !== 'string') return false;
    return equal(this.seal(kind, workflowId, message), message.seal);
  }

  /**
   * A short-lived staff ticket: who may take which decision on which refund, until when, and
   * through which door. Issued by the staff API to an authenticated staff member.
   */
  issueTicket(ticket: StaffTicket): string {
    const body = Buffer.from(canonicalJson(ticket)).toString('base64url');
    return `${body}.${this.mac('staff-ticket', body)}`;
  }

  /** The ticket's claims when its MAC holds and it has not expired; `undefined` otherwise. */
  readTicket(token: string, now = Date.now()): StaffTicket | undefined {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined || !equal(this.mac('staff-ticket', body), mac)) return undefined;
    let claims: StaffTicket;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StaffTicket;
    } catch {
      return undefined;
    }
    return Date.parse(claims.expiresAt) > now ? claims : undefined;
  }
}

export interface StaffTicket {
  operator: string;
  role: string;
  /** The Update the ticket allows: `approveRefund` or `rejectRefund`. */
  action: string;
  /** The refund id it allows it on. */
  target: string;
  via: 'api' | 'temporal-ui';
  /** ISO-8601. */
  expiresAt: string;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
