/** Counters of the TFTP server, rendered in the Prometheus text format. */

export type TransferResult = "complete" | "timeout" | "client-error" | "failed" | "aborted";

const RESULTS: TransferResult[] = ["complete", "timeout", "client-error", "failed", "aborted"];

export class TftpMetrics {
  readonly transfers = new Map<TransferResult, number>(RESULTS.map((result) => [result, 0]));
  /** Error packets sent, by TFTP error code. */
  readonly errors = new Map<number, number>();
  bytesSent = 0;
  retransmits = 0;
  malformed = 0;
  socketErrors = 0;
  active = 0;

  transferEnded(result: TransferResult): void {
    this.transfers.set(result, (this.transfers.get(result) ?? 0) + 1);
  }

  errorSent(code: number): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  render(): string {
    const family = (name: string, type: string, help: string, samples: string[]) =>
      [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map((sample) => name + sample)].join("\n");
    return `${[
      family(
        "airstrap_tftp_transfers_total",
        "counter",
        "Read transfers ended, by result.",
        RESULTS.map((result) => `{result="${result}"} ${this.transfers.get(result)}`),
      ),
      family("airstrap_tftp_transfers_active", "gauge", "Read transfers in progress.", [` ${this.active}`]),
      family(
        "airstrap_tftp_sent_bytes_total",
        "counter",
        "File bytes sent in DATA packets, retransmissions included.",
        [` ${this.bytesSent}`],
      ),
      family("airstrap_tftp_retransmits_total", "counter", "Windows (or OACKs) sent again after a timeout.", [
        ` ${this.retransmits}`,
      ]),
      family(
        "airstrap_tftp_errors_total",
        "counter",
        "ERROR packets sent, by TFTP error code.",
        [...this.errors].sort(([a], [b]) => a - b).map(([code, count]) => `{code="${code}"} ${count}`),
      ),
      family("airstrap_tftp_malformed_total", "counter", "Datagrams dropped as malformed or unexpected.", [
        ` ${this.malformed}`,
      ]),
      family(
        "airstrap_tftp_socket_errors_total",
        "counter",
        "Errors a listening socket reported after it was bound (a send the kernel refused).",
        [` ${this.socketErrors}`],
      ),
    ].join("\n")}\n`;
  }
}
