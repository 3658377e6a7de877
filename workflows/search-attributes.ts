import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes support staff filter on in the Temporal Web UI. They are stored unencrypted,
 * so they carry no personal data: only the order id, the status and the channel.
 */
export const PaymentStatusKey = defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD);
export const PaymentChannelKey = defineSearchAttributeKey('PaymentChannel', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);

/** Every attribute the project uses, for registration on the server at start. */
export const PAYMENT_SEARCH_ATTRIBUTES = [PaymentStatusKey, PaymentChannelKey, OrderIdKey] as const;
