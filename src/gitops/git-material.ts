import bcrypt from "bcryptjs";
import { generateToken, type StateDir } from "../state/state-dir.js";

/** The user airstrap pushes the site repository as. */
export const GIT_PUSH_USER = "airstrap";

/**
 * The git server's secrets, created once in the state dir (0600) and reused: the push password
 * (with its htpasswd line for `airstrap git serve --htpasswd`), the cluster's read-only token,
 * and the Receiver's webhook token. The files a git server on this machine is started with:
 * `git/htpasswd`, `git/read-token`, `git/webhook-token`, and `git/webhook-url` once bootstrap ran.
 */
export async function gitServerMaterial(state: StateDir): Promise<{
  pushUser: string;
  pushPassword: string;
  readToken: string;
  webhookToken: string;
}> {
  const pushPassword = await state.ensureSecret("git/push-password", generateToken);
  if ((await state.read("git/htpasswd")) === undefined)
    await state.write("git/htpasswd", `${GIT_PUSH_USER}:${bcrypt.hashSync(pushPassword, 10)}\n`);
  return {
    pushUser: GIT_PUSH_USER,
    pushPassword,
    readToken: await state.ensureSecret("git/read-token", generateToken),
    webhookToken: await state.ensureSecret("git/webhook-token", generateToken),
  };
}
