import { OperatorError } from "../errors.js";
import { type Digest, digestFromHex } from "../store/digest.js";

/**
 * Parses a `sha256sum`-style file (`<hex>  <name>` or `<hex> *<name>`, as the RKE2 and K3s
 * releases publish) into name → digest. Names are taken without any leading `./` or directory,
 * since the releases list bare file names. Pure.
 */
export function parseSumsFile(text: string, where: string): Map<string, Digest> {
  const sums = new Map<string, Digest>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) return;
    const match = /^([a-fA-F0-9]{64}) [ *](.+)$/.exec(line);
    if (!match) {
      throw new OperatorError(`${where}:${index + 1}: not a sha256sum line: "${line.slice(0, 80)}"`, {
        hint: "the sums file is corrupt or is not the release's sha256sum-<arch>.txt",
      });
    }
    const name = match[2]!.replace(/^(\.\/)?(.*\/)?/, "");
    sums.set(name, digestFromHex(match[1]!.toLowerCase()));
  });
  return sums;
}
