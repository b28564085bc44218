import type { Arrival, IgnoreReason, Step } from "./answer.js";

/** Counters of the DHCP server, rendered in the Prometheus text format. */
export class DhcpMetrics {
  private readonly received = new Map<Arrival, number>();
  private readonly replies = new Map<Step, number>();
  private readonly ignored = new Map<IgnoreReason, number>();
  private readonly notices = new Map<string, number>();
  malformed = 0;
  sendErrors = 0;
  unknownMacs = 0;
  reloads = 0;

  countReceived(arrival: Arrival): void {
    this.received.set(arrival, (this.received.get(arrival) ?? 0) + 1);
  }

  countReply(step: Step): void {
    this.replies.set(step, (this.replies.get(step) ?? 0) + 1);
  }

  countIgnored(reason: IgnoreReason): void {
    this.ignored.set(reason, (this.ignored.get(reason) ?? 0) + 1);
  }

  countNotice(what: string): void {
    this.notices.set(what, (this.notices.get(what) ?? 0) + 1);
  }

  render(): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const labelled = (name: string, label: string, counts: Map<string, number>) => {
      for (const [value, count] of counts) lines.push(`${name}{${label}="${value}"} ${count}`);
    };
    family("airstrap_dhcp_received_total", "counter", "Datagrams received, by port (dhcp 67, pxe 4011).");
    labelled("airstrap_dhcp_received_total", "port", this.received);
    family("airstrap_dhcp_malformed_total", "counter", "Datagrams that were not well-formed DHCP messages.");
    lines.push(`airstrap_dhcp_malformed_total ${this.malformed}`);
    family("airstrap_dhcp_replies_total", "counter", "Replies sent, by step (offer, ack, nak, proxy-offer, pxe-ack).");
    labelled("airstrap_dhcp_replies_total", "step", this.replies);
    family("airstrap_dhcp_ignored_total", "counter", "Requests deliberately left unanswered, by reason.");
    labelled("airstrap_dhcp_ignored_total", "reason", this.ignored);
    family("airstrap_dhcp_notices_total", "counter", "RELEASE and DECLINE messages received from known machines.");
    labelled("airstrap_dhcp_notices_total", "kind", this.notices);
    family("airstrap_dhcp_unknown_macs", "gauge", "Distinct unknown MACs seen (never answered).");
    lines.push(`airstrap_dhcp_unknown_macs ${this.unknownMacs}`);
    family("airstrap_dhcp_send_errors_total", "counter", "Replies the kernel refused to send.");
    lines.push(`airstrap_dhcp_send_errors_total ${this.sendErrors}`);
    family("airstrap_dhcp_reloads_total", "counter", "Configuration reloads applied.");
    lines.push(`airstrap_dhcp_reloads_total ${this.reloads}`);
    return `${lines.join("\n")}\n`;
  }
}
