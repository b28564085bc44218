import pc from "picocolors";

/** Colors only when stdout/stderr is a terminal and NO_COLOR is unset (https://no-color.org). */
export function colorsFor(stream: NodeJS.WriteStream) {
  const enabled =
    stream.isTTY === true && !("NO_COLOR" in process.env && process.env.NO_COLOR !== "") && process.env.TERM !== "dumb";
  return pc.createColors(enabled);
}

export const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
export const err = (text: string) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
