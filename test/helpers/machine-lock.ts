import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The lock of DHCP's port 67 in this machine's own network namespace. */
export const DHCP_PORT_LOCK = "dhcp-port-67";

/**
 * A lock held across test processes on this machine, for a resource there is one of: DHCP's port
 * 67 in the root network namespace, which every lab `init` binds. Test files run two at a time, so
 * two of them would otherwise meet as "another DHCP server already holds the port". The holder's
 * pid is kept in the lock, so a lock left by a killed run is taken over.
 */
export async function holdMachineLock(
  t: { after(fn: () => void): void },
  name: string,
  options: { timeoutMs?: number; onWait?: (holder: number) => void } = {},
): Promise<void> {
  const dir = join(tmpdir(), "airstrap-test-locks", name);
  mkdirSync(join(dir, ".."), { recursive: true });
  const deadline = Date.now() + (options.timeoutMs ?? 3_600_000);
  let told = false;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "pid"), String(process.pid));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = holderOf(dir);
    if (holder === undefined ? leftWithoutPid(dir) : !alive(holder)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the machine lock ${name} is still held by pid ${holder}`);
    if (!told && holder !== undefined) {
      told = true;
      options.onWait?.(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function holderOf(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, "pid"), "utf8"));
  } catch {
    // Taken a moment ago and its pid not written yet: wait for it like any holder.
    return undefined;
  }
}

/** Made, but its pid never written (the holder died in between): after 30 s it is not coming. */
function leftWithoutPid(dir: string): boolean {
  try {
    return Date.now() - statSync(dir).mtimeMs > 30_000;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
