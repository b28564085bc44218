import type { Command } from "commander";
import { registerLb } from "./lb.js";

/** Every verb registers itself here: one file per verb in src/cli/, one line in this list. */
export type RegisterCommand = (program: Command) => Command;

export const commands: RegisterCommand[] = [registerLb];
