import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Command } from "commander";
import { OperatorError, UsageError } from "../errors.js";
import { isAgeRecipient, newAgeIdentity, recipientOf } from "../sops/age.js";
import {
  DEFAULT_ENCRYPTED_REGEX,
  encryptText,
  type OpenedFile,
  openText,
  parseYaml,
  SopsOpenError,
  sealDocument,
  sopsTime,
} from "../sops/document.js";
import { ageIdentities, writeFileReplacing } from "../sops/files.js";
import { renderSecretTemplate, SECRET_TEMPLATES, type SecretTemplate } from "../sops/templates.js";
import { SopsFormatError } from "../sops/tree.js";
import { out } from "./terminal.js";

const collect = (value: string, previous: string[]) => [...previous, ...value.split(",").filter(Boolean)];

export function registerSecrets(program: Command): Command {
  const secrets = program
    .command("secrets")
    .description("SOPS/age secrets in sops' own file format (sops -d and Flux read them)");

  secrets
    .command("keygen")
    .description("create an age key file (0600); prints its public key (the recipient)")
    .requiredOption("-o, --output <file>", "the key file to write (never overwritten)")
    .action(async (flags: { output: string }) => {
      if (await exists(flags.output))
        throw new OperatorError(`${flags.output} exists already`, { hint: "airstrap never overwrites a key file" });
      const { identity, recipient } = await newAgeIdentity();
      await writeFileReplacing(
        flags.output,
        `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`,
        0o600,
      );
      out(recipient);
    });

  secrets
    .command("encrypt <file>")
    .description("encrypt a YAML file to age recipients (Kubernetes metadata stays readable)")
    .option("--age <recipient>", "an age recipient (age1…); repeat or separate with commas", collect, [])
    .option("--key <file>", "encrypt to the recipients of this age key file")
    .option("--encrypted-regex <re>", "the keys whose values are encrypted", DEFAULT_ENCRYPTED_REGEX)
    .option("-o, --output <file>", "write here (default: stdout)")
    .option("-i, --in-place", "replace the file")
    .action(
      async (
        file: string,
        flags: { age: string[]; key?: string; encryptedRegex: string; output?: string; inPlace?: boolean },
      ) => {
        const recipients = await recipientsFrom(flags);
        checkRegex(flags.encryptedRegex);
        const text = await readInput(file);
        const encrypted = await withSopsErrors(file, () =>
          encryptText(text, { recipients, rule: { encrypted_regex: flags.encryptedRegex }, now: new Date() }),
        );
        await emit(encrypted, flags.inPlace ? file : flags.output, 0o644);
      },
    );

  secrets
    .command("decrypt <file>")
    .description("decrypt a sops file (the MAC is checked first); to a 0600 file or stdout")
    .option("--key <file>", "the age key file (default: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt)")
    .option("-o, --output <file>", "write here with mode 0600 (default: stdout)")
    .action(async (file: string, flags: { key?: string; output?: string }) => {
      const opened = await openFile(file, flags.key);
      await emit(opened.document.toString({ lineWidth: 0 }), flags.output, 0o600);
    });

  secrets
    .command("edit <file>")
    .description("decrypt into $EDITOR and encrypt again (same recipients and data key; comments and order kept)")
    .option("--key <file>", "the age key file")
    .action(async (file: string, flags: { key?: string }) => {
      const opened = await openFile(file, flags.key);
      const before = opened.document.toString({ lineWidth: 0 });
      const dir = await mkdtemp(join(tmpdir(), "airstrap-edit-"));
      try {
        const plainFile = join(dir, basename(file));
        await writeFileReplacing(plainFile, before, 0o600);
        const editor = process.env.VISUAL || process.env.EDITOR || "vi";
        const run = spawnSync("sh", ["-c", `${editor} "$1"`, "editor", plainFile], { stdio: "inherit" });
        if (run.status !== 0)
          throw new OperatorError(
            `the editor (${editor}) exited with ${run.status ?? run.signal}; ${file} is unchanged`,
          );
        const after = await readFile(plainFile, "utf8");
        if (after === before) {
          out(`${file}: no change`);
          return;
        }
        const document = await withSopsErrors(file, async () => parseYaml(after));
        const sealed = await withSopsErrors(file, async () =>
          sealDocument(document, opened.dataKey, { ...opened.metadata, lastmodified: sopsTime(new Date()) }),
        );
        await writeFileReplacing(file, sealed, (await stat(file)).mode & 0o777);
        out(`${file}: encrypted again`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

  secrets
    .command("template <name>")
    .description(`write one of the seed's bootstrap secrets: ${SECRET_TEMPLATES.join(", ")}`)
    .option("--age <recipient>", "encrypt to this age recipient; repeat or separate with commas", collect, [])
    .option("--key <file>", "the age key file (sops-age holds it; the others are encrypted to it)")
    .requiredOption("-o, --output <file>", "the file to write")
    .action(async (name: string, flags: { age: string[]; key?: string; output: string }) => {
      if (!(SECRET_TEMPLATES as readonly string[]).includes(name))
        throw new UsageError(`no secret template ${name}`, { hint: `templates: ${SECRET_TEMPLATES.join(", ")}` });
      if (name === "flux-system.sops-age") {
        if (!flags.key) throw new UsageError("the sops-age template needs --key FILE (the age key it holds)");
        const [identity] = await ageIdentities(flags.key, {});
        if (!identity) throw new OperatorError(`${flags.key} holds no age identity`);
        await writeFileReplacing(flags.output, renderSecretTemplate(name, identity), 0o600);
        out(`${flags.output}: the sops-age Secret (0600); apply it out of band, never commit it`);
        return;
      }
      const recipients = await recipientsFrom(flags);
      const encrypted = await withSopsErrors(flags.output, () =>
        encryptText(renderSecretTemplate(name as SecretTemplate), { recipients, now: new Date() }),
      );
      await writeFileReplacing(flags.output, encrypted, 0o644);
      out(`${flags.output}: ${name} encrypted to ${recipients.join(", ")}`);
    });
  return secrets;
}

async function recipientsFrom(flags: { age: string[]; key?: string }): Promise<string[]> {
  const recipients = [...flags.age];
  if (flags.key)
    for (const identity of await ageIdentities(flags.key, {})) recipients.push(await recipientOf(identity));
  if (recipients.length === 0)
    throw new UsageError("no recipient", { hint: "name one with --age age1…, or --key FILE for a key file's own" });
  for (const recipient of recipients)
    if (!isAgeRecipient(recipient))
      throw new UsageError(`"${recipient}" is not an age recipient`, {
        hint: "age recipients look like age1 followed by 58 letters and digits",
      });
  return [...new Set(recipients)];
}

async function openFile(file: string, keyFile: string | undefined): Promise<OpenedFile> {
  const identities = await ageIdentities(keyFile, process.env);
  const text = await readInput(file);
  return withSopsErrors(file, () => openText(text, identities));
}

async function withSopsErrors<T>(file: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SopsOpenError)
      throw new OperatorError(`${file}: ${error.message}`, {
        hint:
          error.kind === "no-key"
            ? "give the key of one of those recipients: --key FILE, SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt"
            : error.kind === "tampered"
              ? "restore the file from the repository's history; never edit an encrypted file by hand (airstrap secrets edit)"
              : "fix the file and try again",
      });
    if (error instanceof SopsFormatError) throw new OperatorError(`${file}: ${error.message}`);
    throw error;
  }
}

async function readInput(file: string): Promise<string> {
  return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new OperatorError(`cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
  });
}

async function emit(text: string, file: string | undefined, mode: number): Promise<void> {
  if (file) await writeFileReplacing(file, text, mode);
  else process.stdout.write(text);
}

function checkRegex(re: string): void {
  try {
    new RegExp(re);
  } catch (error) {
    throw new UsageError(`--encrypted-regex ${re}: ${(error as Error).message}`);
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
