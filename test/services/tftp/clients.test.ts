import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { tftpConfig } from "../../../src/services/tftp/config.js";
import { startTftp } from "../../../src/services/tftp/service.js";
import { atftpGet, curlTftp, hasProgram, sha256File, tftpHpaGet, tftpServerOf } from "../../peers/tftp-clients.js";
import { copyIpxe, IPXE_FILES, startTestTftp, tempRoot, writeRandomFile } from "./fixture.js";

/** Real clients download byte-exact files (SHA-256 compared) at default and large block sizes. */

test("curl fetches the iPXE binaries and a random file byte-exact at blksize 512, 1468 and 8192", async (t) => {
  if (!(await hasProgram("curl"))) return t.skip("curl is not installed");
  const { tftp, root } = await startTestTftp(t);
  const out = await tempRoot(t);
  const files = ["random.bin"];
  await writeRandomFile(join(root, "random.bin"), 3 * 1024 * 1024 + 77);
  if (await copyIpxe(root)) files.push(...IPXE_FILES);
  else t.diagnostic("ipxe package missing: iPXE binaries not tested");
  for (const blksize of [undefined, 1468, 8192]) {
    for (const file of files) {
      const output = join(out, `${file}.${blksize}`);
      await curlTftp(tftpServerOf(tftp.addresses[0]!), file, output, blksize === undefined ? {} : { blksize });
      assert.equal(await sha256File(output), await sha256File(join(root, file)), `${file} at blksize ${blksize}`);
    }
  }
});

test("atftp fetches byte-exact with blksize 8192 and with windowsize 8 and 64", async (t) => {
  if (!(await hasProgram("atftp"))) return t.skip("atftp is not installed");
  const { tftp, root, events } = await startTestTftp(t);
  const out = await tempRoot(t);
  await writeRandomFile(join(root, "initrd.img"), 5 * 1024 * 1024 + 3);
  const server = tftpServerOf(tftp.addresses[0]!);
  const cases = [{ blksize: 8192 }, { blksize: 1468, windowsize: 8 }, { blksize: 1024, windowsize: 64 }];
  for (const [i, options] of cases.entries()) {
    const output = join(out, `initrd.${i}`);
    await atftpGet(server, "initrd.img", output, options);
    assert.equal(await sha256File(output), await sha256File(join(root, "initrd.img")), JSON.stringify(options));
  }
  const served = events.filter((event) => event.kind === "tftp.transfer").map((event) => event.detail?.windowsize);
  assert.deepEqual(served, [1, 8, 64], "the windows were granted, not ignored");
});

test("tftp-hpa fetches byte-exact in RFC 1350 lock-step", async (t) => {
  if (!(await hasProgram("tftp"))) return t.skip("tftp-hpa is not installed");
  const { tftp, root } = await startTestTftp(t);
  const out = await tempRoot(t);
  await writeRandomFile(join(root, "kernel"), 1024 * 1024 + 512);
  await tftpHpaGet(tftpServerOf(tftp.addresses[0]!), "kernel", join(out, "kernel"));
  assert.equal(await sha256File(join(out, "kernel")), await sha256File(join(root, "kernel")));
});

test("curl follows the block number rollover past 65535 (blksize 8: 65,600 blocks)", async (t) => {
  if (!(await hasProgram("curl"))) return t.skip("curl is not installed");
  const { tftp, root } = await startTestTftp(t);
  const out = await tempRoot(t);
  await writeRandomFile(join(root, "long.bin"), 65_600 * 8 - 3);
  await curlTftp(tftpServerOf(tftp.addresses[0]!), "long.bin", join(out, "long.bin"), { blksize: 8 });
  assert.equal(await sha256File(join(out, "long.bin")), await sha256File(join(root, "long.bin")));
});

test("curl fetches byte-exact over IPv6 loopback", async (t) => {
  if (!(await hasProgram("curl"))) return t.skip("curl is not installed");
  const root = await tempRoot(t);
  const out = await tempRoot(t);
  await writeRandomFile(join(root, "ipxe.efi"), 300_000);
  const hasIpv6Loopback = Object.values(networkInterfaces())
    .flat()
    .some((entry) => entry?.address === "::1");
  if (!hasIpv6Loopback) return t.skip("this machine has no ::1");
  const tftp = await startTftp(tftpConfig([{ address: "::1", port: 0 }], root), silentEvents);
  t.after(() => tftp.close());
  assert.match(tftp.addresses[0]!, /^\[::1\]:\d+$/);
  await curlTftp(tftpServerOf(tftp.addresses[0]!), "ipxe.efi", join(out, "ipxe.efi"), { blksize: 1468 });
  assert.equal(await sha256File(join(out, "ipxe.efi")), await sha256File(join(root, "ipxe.efi")));
});
