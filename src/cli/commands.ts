import type { Command } from "commander";
import { registerArtifacts } from "./artifacts.js";
import { registerBoot } from "./boot.js";
import { registerBundle } from "./bundle.js";
import { registerDns } from "./dns.js";
import { registerGenerate } from "./generate.js";
import { registerGit } from "./git.js";
import { registerHosts } from "./hosts.js";
import { registerInit } from "./init.js";
import { registerInstall } from "./install.js";
import { registerKubeconfig, registerWait } from "./kube.js";
import { registerLab } from "./lab.js";
import { registerLabDistro } from "./lab-distro.js";
import { registerLb } from "./lb.js";
import { registerNode } from "./node.js";
import { registerPlan } from "./plan.js";
import { registerProbe } from "./probe.js";
import { registerRegistry } from "./registry.js";
import { registerRelay } from "./relay.js";
import { registerSchema } from "./schema.js";
import { registerSecrets } from "./secrets.js";
import { registerUp } from "./up.js";
import { registerValidate } from "./validate.js";

/** Every verb registers itself here: one file per verb in src/cli/, one line in this list. */
export type RegisterCommand = (program: Command) => Command;

export const commands: RegisterCommand[] = [
  registerInit,
  registerValidate,
  registerPlan,
  registerGenerate,
  registerSchema,
  registerSecrets,
  registerGit,
  registerLb,
  registerLab,
  registerLabDistro,
  registerRegistry,
  registerHosts,
  registerArtifacts,
  registerBundle,
  registerDns,
  registerBoot,
  registerNode,
  registerProbe,
  registerRelay,
  registerInstall,
  registerKubeconfig,
  registerWait,
  registerUp,
];
