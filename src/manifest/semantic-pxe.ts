import { networkContains, parseAddress, parseNetwork } from "../net/ip.js";
import type { Finding, Path } from "./diagnostics.js";
import { asArray, asObject, asString, type Raw } from "./raw.js";

const PXE: Path = ["spec", "provisioning", "pxe"];
const FLATCAR_KEYS = ["name", "channel", "version", "signer"] as const;
const CUSTOM_KEYS = ["kernel", "initrd", "rootImage"] as const;

/**
 * PXE settings that span several fields: where the boot services listen, which hosts boot (every
 * host with a `mac`) and that they sit in the subnet, the DHCP pool, the OS form, ports on the
 * bootstrap machine.
 */
export function pxeFindings(spec: Raw): Finding[] {
  const pxe = asObject(asObject(spec.provisioning)?.pxe);
  if (!pxe) return dataDiskFindings(spec, false);
  const subnetText = asString(pxe.subnet);
  const subnet = subnetText ? parseNetwork(subnetText) : undefined;
  const inSubnet = (address: string) => !subnet || networkContains(subnet, address);
  const findings: Finding[] = [];
  const outside = (path: Path, what: string, address: string, hint: string) =>
    findings.push({
      severity: "error",
      path,
      message: `${what} ${address} is outside the provisioning subnet ${subnetText}`,
      hint,
    });

  const bootstrapAddress = asString(asObject(spec.bootstrap)?.address);
  const ownAddress = asString(pxe.address);
  if (ownAddress !== undefined) {
    if (parseAddress(ownAddress) && !inSubnet(ownAddress))
      outside(
        [...PXE, "address"],
        "the boot services' address",
        ownAddress,
        "the boot services answer on the subnet the hosts boot in",
      );
  } else if (bootstrapAddress === undefined) {
    findings.push({
      severity: "error",
      path: PXE,
      message: "the PXE boot services need an address to listen on",
      hint: "set address: here, or spec.bootstrap.address",
    });
  } else if (parseAddress(bootstrapAddress)?.family === 4 && !inSubnet(bootstrapAddress)) {
    outside(
      ["spec", "bootstrap", "address"],
      "the bootstrap address (where the boot services listen)",
      bootstrapAddress,
      "set spec.provisioning.pxe.address to the bootstrap machine's address on the provisioning subnet",
    );
  }
  const gateway = asString(pxe.gateway);
  if (gateway && parseAddress(gateway) && !inSubnet(gateway))
    outside([...PXE, "gateway"], "the gateway", gateway, "a gateway must be reachable on the hosts' own subnet");

  const bootingHosts = asArray(spec.hosts).flatMap((entry, index) => {
    const host = asObject(entry);
    const address = asString(host?.address);
    return host && asString(host.mac) !== undefined
      ? [{ index, name: asString(host.name) ?? `${index}`, address }]
      : [];
  });
  for (const { index, name, address } of bootingHosts) {
    if (address && parseAddress(address) && !inSubnet(address))
      outside(
        ["spec", "hosts", index, "address"],
        `host ${name} boots over PXE (it has a mac), but its address`,
        address,
        "PXE needs every booting machine on the provisioning subnet; a host without mac is installed over SSH only",
      );
  }
  if (bootingHosts.length === 0)
    findings.push({
      severity: "warning",
      path: ["spec", "hosts"],
      message: "provisioning.pxe is set but no host has a mac: no host boots over PXE",
      hint: "give each host that should boot over the network its mac",
    });

  findings.push(...dataDiskFindings(spec, true));
  findings.push(...poolFindings(pxe, asArray(spec.hosts), inSubnet, subnetText));
  findings.push(...osFindings(pxe, asString(asObject(spec.distro)?.arch)));
  findings.push(...bootPortFindings(pxe, spec));
  return findings;
}

function poolFindings(
  pxe: Raw,
  hosts: unknown[],
  inSubnet: (address: string) => boolean,
  subnetText: string | undefined,
): Finding[] {
  const pool = asObject(pxe.pool);
  if (!pool) return [];
  if (pxe.dhcp !== "full")
    return [
      {
        severity: "error",
        path: [...PXE, "pool"],
        message: "a dynamic pool needs dhcp: full (with dhcp: proxy the site's DHCP server hands out addresses)",
        hint: "set dhcp: full, or remove pool",
      },
    ];
  const findings: Finding[] = [];
  const start = parseAddress(asString(pool.start) ?? "");
  const end = parseAddress(asString(pool.end) ?? "");
  for (const key of ["start", "end"] as const) {
    const text = asString(pool[key]);
    if (text && parseAddress(text) && !inSubnet(text))
      findings.push({
        severity: "error",
        path: [...PXE, "pool", key],
        message: `pool ${key} ${text} is outside the provisioning subnet ${subnetText}`,
      });
  }
  if (!start || !end) return findings;
  if (start.value > end.value) {
    findings.push({
      severity: "error",
      path: [...PXE, "pool", "end"],
      message: `pool end ${String(pool.end)} comes before its start ${String(pool.start)}`,
    });
    return findings;
  }
  hosts.forEach((entry, index) => {
    const address = asString(asObject(entry)?.address);
    const value = address ? parseAddress(address) : undefined;
    if (value && value.family === 4 && value.value >= start.value && value.value <= end.value)
      findings.push({
        severity: "error",
        path: ["spec", "hosts", index, "address"],
        message: `host address ${address} lies inside the dynamic pool ${String(pool.start)}-${String(pool.end)}`,
        hint: "another machine could be handed this address; keep the pool clear of the hosts' addresses",
      });
  });
  return findings;
}

function osFindings(pxe: Raw, arch: string | undefined): Finding[] {
  const os = asObject(pxe.os);
  if (!os) return [];
  const path = [...PXE, "os"];
  const flatcar = FLATCAR_KEYS.filter((key) => os[key] !== undefined);
  const custom = CUSTOM_KEYS.filter((key) => os[key] !== undefined);
  const findings: Finding[] = [];
  if (flatcar.length > 0 && custom.length > 0) {
    findings.push({
      severity: "error",
      path: [...path, custom[0]!],
      message: `os mixes Flatcar (${flatcar.join(", ")}) with a kernel + initrd (${custom.join(", ")})`,
      hint: "either name: flatcar with channel and version, or kernel, initrd (and rootImage) from the artifact store",
    });
  } else if (custom.length > 0) {
    for (const key of ["kernel", "initrd"] as const)
      if (os[key] === undefined)
        findings.push({
          severity: "error",
          path,
          message: `missing ${key}: booting an OS of your own needs a kernel and its initrd`,
          hint: "name both files as they are in the artifact store",
        });
    if (pxe.ignitionVersion === "3.4.0")
      findings.push({
        severity: "warning",
        path: [...PXE, "ignitionVersion"],
        message: "Debian's ignition 2.14 rejects spec 3.4.0 (it knows only 3.4.0-experimental)",
        hint: "leave ignitionVersion at 3.3.0 unless the OS's Ignition is 2.15 or later",
      });
  } else if (os.version === undefined) {
    findings.push({
      severity: "error",
      path,
      message: "missing version: which Flatcar release to boot",
      hint: "for example version: 3975.2.2 (with channel: stable), or kernel + initrd for another OS",
    });
  } else if (arch === "arm64") {
    findings.push({
      severity: "warning",
      path,
      message: "Flatcar's arm64 PXE image is known to hang at boot (flatcar/Flatcar#871)",
      hint: "boot arm64 hosts from disk, or test the image on one host first",
    });
  }
  return findings;
}

/** The boot HTTP server runs on the bootstrap machine next to install's file server and the registry. */
function bootPortFindings(pxe: Raw, spec: Raw): Finding[] {
  const httpPort = typeof pxe.httpPort === "number" ? pxe.httpPort : 8080;
  const neighbours = [
    { name: "bootstrap.filesPort", port: asObject(spec.bootstrap)?.filesPort ?? 8078 },
    { name: "registry.port", port: asObject(spec.registry)?.port ?? 5000 },
  ];
  const clash = neighbours.find((n) => n.port === httpPort);
  if (!clash) return [];
  return [
    {
      severity: "error",
      path: pxe.httpPort === undefined ? PXE : [...PXE, "httpPort"],
      message: `boot HTTP port ${httpPort} is also ${clash.name} on the bootstrap machine`,
      hint: "each service on the bootstrap machine needs its own port (boot HTTP default 8080)",
    },
  ];
}

/** A data disk is formatted by Ignition: only a host that boots over PXE gets one. */
function dataDiskFindings(spec: Raw, pxeSet: boolean): Finding[] {
  return asArray(spec.hosts).flatMap((entry, index): Finding[] => {
    const host = asObject(entry);
    if (asString(host?.dataDisk) === undefined) return [];
    if (!pxeSet)
      return [
        {
          severity: "error",
          path: ["spec", "hosts", index, "dataDisk"],
          message:
            "a data disk is formatted by Ignition, and no host boots over PXE (spec.provisioning.pxe is not set)",
          hint: "set spec.provisioning.pxe, or remove dataDisk (prepare the disks of hosts installed over SSH yourself)",
        },
      ];
    if (asString(host?.mac) !== undefined) return [];
    return [
      {
        severity: "error",
        path: ["spec", "hosts", index, "dataDisk"],
        message: `host ${asString(host?.name) ?? index} has a data disk but no mac: it does not boot over PXE, so Ignition never formats it`,
        hint: "give the host its mac, or remove dataDisk",
      },
    ];
  });
}
