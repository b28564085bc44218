// Run by test/cli/sudo-prompt.test.ts, on a pseudo-terminal or not: asks as `airstrap install` does
// and prints the SHA-256 of the answer (never the answer itself).
import { createHash } from "node:crypto";
import { sudoPasswordFromOperator } from "../../src/cli/sudo-prompt.js";

try {
  const answer = await sudoPasswordFromOperator()({ host: "node-1 (10.0.0.1)", user: "ops" });
  process.stdout.write(
    answer === undefined ? "answer: none\n" : `answer: ${createHash("sha256").update(answer).digest("hex")}\n`,
  );
} catch (error) {
  process.stdout.write(`failed: ${(error as Error).message}\n`);
}
