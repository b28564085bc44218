import pc from "picocolors";

/** Colors only when stdout/stderr is a terminal and NO_COLOR is unset (https://no-color.org). */
const palettes = new Map<boolean, ReturnType<typeof pc.createColors>>();

/** Views call this for every line they print: the two palettes are made once. */
export function colorsFor(stream: NodeJS.WriteStream) {
  const enabled =
    stream.isTTY === true && !("NO_COLOR" in process.env && process.env.NO_COLOR !== "") && process.env.TERM !== "dumb";
  let palette = palettes.get(enabled);
  if (palette === undefined) {
    palette = pc.createColors(enabled);
    palettes.set(enabled, palette);
  }
  return palette;
}

export const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
export const err = (text: string) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
