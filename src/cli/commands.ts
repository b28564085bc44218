import type { Command } from "commander";
import { registerArtifacts } from "./artifacts.js";
import { registerBoot } from "./boot.js";
import { registerBundle } from "./bundle.js";
import { registerDashboard } from "./dashboard.js";
import { registerDhcp } from "./dhcp.js";
import { registerDns } from "./dns.js";
import { registerGenerate } from "./generate.js";
import { registerGit } from "./git.js";
import { registerGitops } from "./gitops.js";
import { registerHosts } from "./hosts.js";
import { registerImage } from "./image.js";
import { registerInit } from "./init.js";
import { registerInstall } from "./install.js";
import { registerKubeconfig, registerWait } from "./kube.js";
import { registerLab } from "./lab.js";
import { registerLb } from "./lb.js";
import { registerNode } from "./node.js";
import { registerPlan } from "./plan.js";
import { registerProbe } from "./probe.js";
import { registerRegistry } from "./registry.js";
import { registerRelay } from "./relay.js";
import { registerSchema } from "./schema.js";
import { registerSecrets } from "./secrets.js";
import { registerServe } from "./serve.js";
import { registerTeardown } from "./teardown.js";
import { registerTftp } from "./tftp.js";
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
  registerGitops,
  registerLb,
  registerLab,
  registerRegistry,
  registerHosts,
  registerArtifacts,
  registerBundle,
  registerImage,
  registerDns,
  registerBoot,
  registerTftp,
  registerDhcp,
  registerNode,
  registerProbe,
  registerRelay,
  registerInstall,
  registerKubeconfig,
  registerWait,
  registerUp,
  registerDashboard,
  registerServe,
  registerTeardown,
];
