import { OperatorError } from "../errors.js";
import type { SudoPasswordSource } from "../hosts/sudo.js";

export interface PromptTerminal {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

/**
 * The sudo password for commands run by an operator: AIRSTRAP_SUDO_PASSWORD when set, otherwise —
 * only when standard input is a terminal — asked for on that terminal without echo, the first time
 * a host needs it (the hosts layer asks once for all hosts). Not a terminal and not set: none, and
 * the host's error says how to give one.
 */
export function sudoPasswordFromOperator(
  env: NodeJS.ProcessEnv = process.env,
  terminal: PromptTerminal = { input: process.stdin, output: process.stderr },
  /** Keeps a live view from drawing over the prompt: called before asking, its result after. */
  hold: () => () => void = () => () => {},
): SudoPasswordSource {
  return async (asker) => {
    const given = env.AIRSTRAP_SUDO_PASSWORD;
    if (given !== undefined && given !== "") return given;
    if (terminal.input.isTTY !== true) return undefined;
    const who = asker ? `${asker.user} on ${asker.host}` : "the hosts";
    const release = hold();
    try {
      return await readHidden(terminal, `[airstrap] sudo password for ${who} (used for every host that asks): `);
    } finally {
      release();
    }
  };
}

/** One line from the terminal in raw mode: nothing is echoed; Ctrl-C cancels, backspace deletes. */
function readHidden({ input, output }: PromptTerminal, prompt: string): Promise<string> {
  // Raw before the prompt shows: nothing typed after it is ever echoed by the terminal.
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  output.write(prompt);
  input.resume();
  let typed = "";
  return new Promise<string>((resolve, reject) => {
    const finish = (error?: Error) => {
      input.off("data", onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish();
        if (char === "\u0003")
          return finish(
            new OperatorError("cancelled at the sudo password prompt", {
              hint: "run again, or set AIRSTRAP_SUDO_PASSWORD",
            }),
          );
        if (char === "\u007f" || char === "\b") typed = [...typed].slice(0, -1).join("");
        else if (char >= " ") typed += char;
      }
    };
    input.on("data", onData);
  });
}
