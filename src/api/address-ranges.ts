import { BlockList, isIP } from 'node:net';

/**
 * A set of client addresses, from a comma-separated list of addresses and CIDR ranges such as
 * `203.0.113.0/24,198.51.100.7,2001:db8::/32`. IPv4 ranges also hold the IPv4-mapped IPv6 form
 * of their addresses (`::ffff:203.0.113.9`), as a dual-stack socket reports them.
 */
export interface AddressRanges {
  has(address: string | undefined): boolean;
}

/** One entry: an IPv4 or IPv6 address, with an optional prefix length within its family's width. */
function entryOf(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const width = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(width) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) return undefined;
  return { address, prefix: Number(prefixText), family: version === 4 ? 'ipv4' : 'ipv6' };
}

function entriesOf(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** Whether every entry of a comma-separated list is an address or a CIDR range (an empty list is). */
export function isAddressRangeList(list: string): boolean {
  return entriesOf(list).every((entry) => entryOf(entry) !== undefined);
}

/**
 * The addresses a list names; `undefined` for an empty or absent list (no restriction). Throws
 * on a malformed entry: configuration checks the list with {@link isAddressRangeList} first.
 */
export function parseAddressRanges(list: string | undefined): AddressRanges | undefined {
  const entries = entriesOf(list ?? '');
  if (entries.length === 0) return undefined;
  const blocks = new BlockList();
  for (const text of entries) {
    const entry = entryOf(text);
    if (!entry) throw new RangeError('not an address or CIDR range');
    blocks.addSubnet(entry.address, entry.prefix, entry.family);
  }
  return {
    has(address) {
      const version = address === undefined ? 0 : isIP(address);
      return version !== 0 && blocks.check(address as string, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
