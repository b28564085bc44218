/**
 * MAC addresses as Matchbox reads them (Go's net.ParseMAC): colon or hyphen form of 6, 8 or 20
 * octets, or the dotted form of 16-bit groups; written back as lowercase hex pairs joined by ":".
 */
export function normalizeMac(text: string): string | undefined {
  const octets = colonOrHyphenOctets(text) ?? dottedOctets(text);
  if (octets === undefined || ![6, 8, 20].includes(octets.length)) return undefined;
  return octets.join(":").toLowerCase();
}

function colonOrHyphenOctets(text: string): string[] | undefined {
  const separator = text[2];
  if (separator !== ":" && separator !== "-") return undefined;
  const parts = text.split(separator);
  return parts.every((part) => /^[0-9a-fA-F]{2}$/.test(part)) ? parts : undefined;
}

function dottedOctets(text: string): string[] | undefined {
  const parts = text.split(".");
  if (!parts.every((part) => /^[0-9a-fA-F]{4}$/.test(part))) return undefined;
  return parts.flatMap((part) => [part.slice(0, 2), part.slice(2)]);
}
