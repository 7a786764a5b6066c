// The client identity used for rate-limit keys: the address Express derives under TRUST_PROXY,
// normalised so one client has one key (IPv4-mapped IPv6 as IPv4, IPv6 by its /64).
//
// Express (proxy-addr) already walks X-Forwarded-For only as far as the trusted hops, so a direct
// client rotating that header keeps its socket address. ipaddr.js is what proxy-addr uses to parse.
import ipaddr from 'ipaddr.js';

const PLAIN_IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function clientKey(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  // The common case costs one regex test and no allocation.
  if (PLAIN_IPV4.test(ip)) return ip;
  if (!ipaddr.isValid(ip)) return ip;
  const addr = ipaddr.parse(ip);
  if (addr instanceof ipaddr.IPv4) return addr.toString();
  const v6 = addr as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  // One subscriber usually owns a whole /64, and rotating the low 64 bits is free: key the prefix.
  const p = v6.parts;
  return `${(p[0] ?? 0).toString(16)}:${(p[1] ?? 0).toString(16)}:${(p[2] ?? 0).toString(16)}:${(p[3] ?? 0).toString(16)}::/64`;
}

/** Express `trust proxy` value from TRUST_PROXY: false, a hop count, or proxy addresses/CIDRs. */
export function trustProxySetting(value: false | number | readonly string[]): false | number | string[] {
  return typeof value === 'object' ? [...value] : value;
}

export function describeTrustProxy(value: false | number | readonly string[]): string {
  if (value === false) return 'none (socket address is the client)';
  if (typeof value === 'number') return `${value} hop(s)`;
  return `addresses: ${value.join(', ')}`;
}
