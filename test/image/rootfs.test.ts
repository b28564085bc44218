import assert from "node:assert/strict";
import { test } from "node:test";
import { annotationsFor, imageConfigBytes } from "../../src/image/image-config.js";
import { IMAGE_EXECUTABLE, IMAGE_USER, parseLdd, rootfsEntries } from "../../src/image/rootfs.js";

const LDD = `	linux-vdso.so.1 (0x00007ffd)
	libstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f01)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)
	/lib64/ld-linux-x86-64.so.2 (0x00007f03)
`;

test("parseLdd keeps every library file and the loader, not the vDSO", () => {
  assert.deepEqual(
    parseLdd(LDD).map((lib) => lib.path),
    ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/ld-linux-x86-64.so.2"],
  );
});

test("the root filesystem is the executable, the programs it drives, their libraries, a non-root user and /tmp, in one fixed order", () => {
  const libraries = parseLdd(LDD);
  const programs = [
    { path: "/usr/bin/git", source: "/usr/lib/git-core/git" },
    { path: "/usr/lib/git-core/git-http-backend", source: "/usr/lib/git-core/git-http-backend" },
  ];
  const entries = rootfsEntries({ executable: "/x/airstrap", programs, libraries });
  const reversed = rootfsEntries({
    executable: "/x/airstrap",
    programs: [...programs].reverse(),
    libraries: [...libraries].reverse(),
  });
  assert.deepEqual(entries, reversed);
  const paths = entries.map((e) => e.path);
  assert.deepEqual([...paths].sort(), paths);
  for (const path of paths) {
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (parent) assert.ok(paths.indexOf(parent) < paths.indexOf(path), `${parent} before ${path}`);
  }
  assert.ok(paths.includes(IMAGE_EXECUTABLE));
  for (const program of programs)
    assert.deepEqual(
      entries.find((e) => e.path === program.path),
      { kind: "file", path: program.path, mode: 0o755, source: program.source },
    );
  assert.equal(entries.find((e) => e.path === "/tmp")?.mode, 0o1777);
  const passwd = entries.find((e) => e.path === "/etc/passwd");
  assert.ok(passwd?.kind === "bytes");
  assert.match(passwd.bytes.toString(), new RegExp(`^airstrap:x:${IMAGE_USER.uid}:`, "m"));
});

test("the config runs the executable as the non-root user and carries the OCI annotations", () => {
  const labels = { version: "1.2.3", revision: "abc123", source: "https://example.invalid/airstrap.git" };
  const config = JSON.parse(
    imageConfigBytes({ architecture: "arm64", diffId: `sha256:${"0".repeat(64)}`, labels }).toString(),
  );
  assert.deepEqual(config.config.Entrypoint, [IMAGE_EXECUTABLE]);
  assert.equal(config.config.User, `${IMAGE_USER.uid}:${IMAGE_USER.gid}`);
  assert.equal(config.architecture, "arm64");
  assert.equal(config.config.Labels["org.opencontainers.image.version"], "1.2.3");
  assert.equal(annotationsFor(labels)["org.opencontainers.image.revision"], "abc123");
  assert.equal(annotationsFor({ version: "1" })["org.opencontainers.image.source"], undefined);
});
