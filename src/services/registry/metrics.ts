/** Request counters and latency sums in Prometheus text format. */
export function createMetrics() {
  const requests = new Map<string, number>();
  let seconds = 0;
  let count = 0;
  return {
    observe(method: string, status: number, started: bigint) {
      const key = `method="${method}",code="${status}"`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      seconds += Number(process.hrtime.bigint() - started) / 1e9;
      count += 1;
    },
    render(activeUploads: number): string {
      const lines = [
        "# HELP airstrap_registry_requests_total Requests answered, by method and status code.",
        "# TYPE airstrap_registry_requests_total counter",
        ...[...requests].map(([labels, value]) => `airstrap_registry_requests_total{${labels}} ${value}`),
        "# HELP airstrap_registry_request_duration_seconds Time spent answering requests.",
        "# TYPE airstrap_registry_request_duration_seconds summary",
        `airstrap_registry_request_duration_seconds_sum ${seconds}`,
        `airstrap_registry_request_duration_seconds_count ${count}`,
        "# HELP airstrap_registry_uploads_in_progress Upload sessions with a request in flight.",
        "# TYPE airstrap_registry_uploads_in_progress gauge",
        `airstrap_registry_uploads_in_progress ${activeUploads}`,
      ];
      return `${lines.join("\n")}\n`;
    },
  };
}
