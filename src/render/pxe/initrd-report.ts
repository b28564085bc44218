import { type CpioEntry, renderNewcCpio } from "./newc-cpio.js";

/**
 * airstrap's own extra initrd, loaded after the OS's: when the machine's initramfs stops in
 * emergency mode — where Ignition sends it when a stage fails — a unit there tells the boot
 * server's /report endpoint why (`first-boot-failed`, with Ignition's own "Ignition failed: …"
 * line). Without it, a machine whose Ignition failed is silent: the first-boot report is a unit
 * Ignition would have installed, and `airstrap init` could only name it when --timeout passed.
 *
 * The URL comes from the kernel command line (`airstrap.report=`), so one archive serves every
 * machine. The script needs bash, journalctl and systemd in the initramfs (every dracut one has
 * them) and no curl: it speaks HTTP through bash's /dev/tcp.
 */
export const INITRD_REPORT_ARG = "airstrap.report";
export const INITRD_REPORT_UNIT = "airstrap-initrd-report.service";
export const INITRD_REPORT_SCRIPT = "usr/lib/airstrap/initrd-report";
/** The longest failure text sent (the endpoint takes at most 500 characters). */
const MESSAGE_MAX = 400;

const UNIT = `[Unit]
Description=airstrap: tell the boot server why this machine stopped in its initramfs
DefaultDependencies=no
ConditionKernelCommandLine=${INITRD_REPORT_ARG}

[Service]
Type=oneshot
ExecStart=/${INITRD_REPORT_SCRIPT}
TimeoutStartSec=120
StandardOutput=journal+console
StandardError=journal+console
`;

const SCRIPT = `#!/bin/bash
# airstrap: this machine's initramfs went to emergency mode. Tells the boot server why, once, so
# that airstrap init names the machine and the failure at once (see docs/init.md).
set -u
export LC_ALL=C
url=""
read -r -a words </proc/cmdline
for word in "\${words[@]}"; do
  [[ $word == ${INITRD_REPORT_ARG}=* ]] && url=\${word#${INITRD_REPORT_ARG}=}
done
if [[ ! $url =~ ^http://([^/:]+)(:([0-9]+))?(/.*)$ ]]; then
  echo "airstrap: ${INITRD_REPORT_ARG}= holds no http:// URL; nothing reported" >&2
  exit 0
fi
host=\${BASH_REMATCH[1]} port=\${BASH_REMATCH[3]:-80} path=\${BASH_REMATCH[4]}

# Ignition's own words when a stage failed; otherwise the boot's last error line.
ignition=unknown
message=""
while IFS= read -r line; do
  case $line in *"Ignition failed: "*) message=\${line#*Ignition failed: } ignition=failure ;; esac
done < <(journalctl -b -o cat --no-pager 2>/dev/null)
if [[ $ignition == failure ]]; then
  message="Ignition failed: $message"
else
  message=$(journalctl -b -o cat --no-pager -p err -n 1 2>/dev/null)
  message="emergency mode in the initramfs\${message:+: $message}"
fi
message=\${message:0:${MESSAGE_MAX}}
message=\${message//\\\\/\\\\\\\\}
message=\${message//\\"/\\\\\\"}
message=\${message//[$'\\001'-$'\\037']/ }
body="{\\"status\\":\\"first-boot-failed\\",\\"ignition\\":\\"$ignition\\",\\"message\\":\\"$message\\"}"

post() {
  {
    printf 'POST %s HTTP/1.1\\r\\nHost: %s:%s\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s' \\
      "$path" "$host" "$port" "\${#body}" "$body" >&3
    IFS= read -r -t 10 reply <&3
    printf '%s' "\${reply%$'\\r'}"
  } 3<>"/dev/tcp/$host/$port"
}
for attempt in 1 2 3 4 5 6; do
  reply=$(post 2>/dev/null)
  if [[ $reply == "HTTP/1."?" 204"* ]]; then
    echo "airstrap: told $host:$port: $message"
    exit 0
  fi
  echo "airstrap: report attempt $attempt to $host:$port: \${reply:-no answer}" >&2
  sleep 5
done
exit 1
`;

/** The archive: the unit, wanted by emergency.target, and its script. */
export function renderInitrdReportArchive(): string {
  const entries: CpioEntry[] = [
    ...["etc", "etc/systemd", "etc/systemd/system", "etc/systemd/system/emergency.target.wants"].map(
      (path): CpioEntry => ({ kind: "directory", path, mode: 0o755 }),
    ),
    { kind: "file", path: `etc/systemd/system/${INITRD_REPORT_UNIT}`, mode: 0o644, content: UNIT },
    {
      kind: "symlink",
      path: `etc/systemd/system/emergency.target.wants/${INITRD_REPORT_UNIT}`,
      target: `../${INITRD_REPORT_UNIT}`,
    },
    ...["usr", "usr/lib", "usr/lib/airstrap"].map((path): CpioEntry => ({ kind: "directory", path, mode: 0o755 })),
    { kind: "file", path: INITRD_REPORT_SCRIPT, mode: 0o755, content: SCRIPT },
  ];
  return renderNewcCpio(entries);
}

/** The script alone, as the archive holds it (for tests that run it). */
export const initrdReportScript = (): string => SCRIPT;
