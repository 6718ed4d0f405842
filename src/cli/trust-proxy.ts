/**
 * `REMA_TRUST_PROXY`: `true`, or the addresses/CIDRs (comma-separated) of the proxies in front
 * (the gateway, a load balancer) whose `X-Forwarded-For` is trusted; unset or `false`: none.
 */
export function trustProxyFromEnv(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value === '' || value === 'false') return undefined;
  return value === 'true' ? true : value;
}
