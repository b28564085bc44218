export type { DnsConfig, DnsEndpoint, DnsRecord } from "./config.js";
export { DNS_DEFAULTS, dnsConfigFromPlan } from "./config.js";
export { type RunningDns, startDns } from "./start.js";
