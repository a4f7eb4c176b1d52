/**
 * Which exchange hosts a process outside live mode may talk to. A production host spelled in
 * any way the URL parser accepts (upper case, a trailing dot, an IPv4 address in hex or as one
 * number) must be recognised, so the decision is made on the parser's normalised host, never on
 * the text. Names are not resolved here: a public IP address may be production and is refused;
 * a name outside binance.com (a paper exchange, localhost) is taken at its word.
 */
import { BlockList, isIP } from 'node:net';

/** Binance's test-trading REST hosts (the older testnet and the current "demo" trading host). */
export const TEST_TRADING_HOSTS: readonly string[] = ['testnet.binancefuture.com', 'demo-fapi.binance.com'];

const BINANCE_DOMAIN = 'binance.com';

/** Why a URL may not be used outside live mode (a closed set). */
export type NonLiveHostProblem = 'not_a_url' | 'binance_production_host' | 'public_ip_address';

/** Addresses that cannot be the exchange: loopback, private, link-local, unique-local. */
const LOCAL_ADDRESSES = (() => {
  const b = new BlockList();
  b.addSubnet('127.0.0.0', 8, 'ipv4');
  b.addSubnet('10.0.0.0', 8, 'ipv4');
  b.addSubnet('172.16.0.0', 12, 'ipv4');
  b.addSubnet('192.168.0.0', 16, 'ipv4');
  b.addSubnet('169.254.0.0', 16, 'ipv4');
  b.addAddress('::1', 'ipv6');
  b.addSubnet('fc00::', 7, 'ipv6');
  b.addSubnet('fe80::', 10, 'ipv6');
  return b;
})();

/** The host as the URL parser resolves it (lower case, IDNA, IPv4 dotted decimal), without
 * IPv6 brackets or trailing dots; null when the text is not a URL with a host. */
export function normalisedHost(url: string): string | null {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return null;
  }
  host = host.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  return host === '' ? null : host;
}

export function isUnderBinance(host: string): boolean {
  return host === BINANCE_DOMAIN || host.endsWith(`.${BINANCE_DOMAIN}`);
}

/** null when a non-live process may use this base URL, else why not. */
export function nonLiveHostProblem(url: string): NonLiveHostProblem | null {
  const host = normalisedHost(url);
  if (host === null) return 'not_a_url';
  const family = isIP(host);
  if (family !== 0) {
    // IPv4-mapped IPv6 addresses are matched against the IPv4 ranges by BlockList.
    return LOCAL_ADDRESSES.check(host, family === 4 ? 'ipv4' : 'ipv6') ? null : 'public_ip_address';
  }
  if (isUnderBinance(host) && !TEST_TRADING_HOSTS.includes(host)) return 'binance_production_host';
  return null;
}

/** The refusal in words, naming the variable and the fix. */
export function nonLiveHostExpected(problem: NonLiveHostProblem, url: string): string {
  const host = normalisedHost(url) ?? '?';
  switch (problem) {
    case 'not_a_url':
      return 'a URL with a host';
    case 'binance_production_host':
      return (
        `a test-trading host unless APPLY_MODE=live: ${host} is a Binance host other than ` +
        `${TEST_TRADING_HOSTS.join(' or ')}, so it may trade real money`
      );
    case 'public_ip_address':
      return (
        `a host name or a loopback/private address unless APPLY_MODE=live: ${host} is a public ` +
        'IP address, which may be the production exchange'
      );
  }
}
