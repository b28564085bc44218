/** Counters of the boot server, in the Prometheus text format. */
export class BootHttpMetrics {
  private readonly requests = new Map<string, number>();
  assetBytes = 0;
  reports = 0;
  reloads = 0;
  reloadFailures = 0;

  request(endpoint: string, status: number): void {
    const key = `endpoint="${endpoint}",code="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  render(state: { groups: number; profiles: number }): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("airstrap_boot_http_requests_total", "counter", "Requests answered, by endpoint and status code.");
    for (const [labels, count] of [...this.requests].sort())
      lines.push(`airstrap_boot_http_requests_total{${labels}} ${count}`);
    family("airstrap_boot_http_asset_bytes_total", "counter", "Bytes of assets sent.");
    lines.push(`airstrap_boot_http_asset_bytes_total ${this.assetBytes}`);
    family("airstrap_boot_http_reports_total", "counter", "First-boot reports accepted.");
    lines.push(`airstrap_boot_http_reports_total ${this.reports}`);
    family("airstrap_boot_http_reloads_total", "counter", "Data reloads applied.");
    lines.push(`airstrap_boot_http_reloads_total ${this.reloads}`);
    family(
      "airstrap_boot_http_reload_failures_total",
      "counter",
      "Data reloads refused (the previous data kept serving).",
    );
    lines.push(`airstrap_boot_http_reload_failures_total ${this.reloadFailures}`);
    family("airstrap_boot_http_groups", "gauge", "Groups in the data being served.");
    lines.push(`airstrap_boot_http_groups ${state.groups}`);
    family("airstrap_boot_http_profiles", "gauge", "Profiles in the data being served.");
    lines.push(`airstrap_boot_http_profiles ${state.profiles}`);
    return `${lines.join("\n")}\n`;
  }
}
