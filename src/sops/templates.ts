import { randomBytes } from "node:crypto";
import { registerSecret } from "../secrets.js";

/**
 * The seed's bootstrap secrets (namespace.name), the Secrets that must exist before Vault does, and
 * the key that lets OpenBao unseal itself (docs/gitops.md, "Unsealing OpenBao").
 */
export const SECRET_TEMPLATES = [
  "flux-system.sops-age",
  "secrets.backup-repo",
  "secrets.backup-s3",
  "openbao.static-seal",
] as const;
export type SecretTemplate = (typeof SECRET_TEMPLATES)[number];

/**
 * The plaintext YAML of a template. `flux-system.sops-age` holds the age key itself: it is created
 * in the cluster out of band and never committed; the others are meant to be encrypted at once.
 */
export function renderSecretTemplate(name: SecretTemplate, ageIdentity?: string, now = new Date()): string {
  switch (name) {
    case "flux-system.sops-age":
      if (!ageIdentity) throw new Error("the sops-age template needs the age identity");
      return `# The age key kustomize-controller decrypts the site's SOPS files with.
# NEVER commit this file: apply it once (kubectl apply -f), then delete it.
apiVersion: v1
kind: Secret
metadata:
  name: sops-age
  namespace: flux-system
type: Opaque
stringData:
  age.agekey: ${ageIdentity}
`;
    case "secrets.backup-repo": {
      const password = registerSecret(randomBytes(32).toString("base64url"));
      return `# The password of the backup (restic) repository: VolSync encrypts and decrypts snapshots with it.
# Losing it loses the backups; keep this encrypted file in the site repository.
apiVersion: v1
kind: Secret
metadata:
  name: backup-repo
  namespace: secrets
type: Opaque
stringData:
  RESTIC_PASSWORD: ${password}
  RESTIC_REPOSITORY: s3:https://s3.example.lan/backups
`;
    }
    case "secrets.backup-s3":
      return `# Credentials of the S3 bucket the backup snapshots are stored in and restored from.
# Fill in the values with: airstrap secrets edit FILE
apiVersion: v1
kind: Secret
metadata:
  name: backup-s3
  namespace: secrets
type: Opaque
stringData:
  AWS_ACCESS_KEY_ID: change-me
  AWS_SECRET_ACCESS_KEY: change-me
  AWS_DEFAULT_REGION: us-east-1
`;
    case "openbao.static-seal": {
      // OpenBao's static seal takes a raw 32-byte AES-256-GCM key; mounted from `data`, the file holds those bytes.
      const key = registerSecret(randomBytes(32).toString("base64"));
      const keyId = `airstrap-${now.toISOString().slice(0, 10).replaceAll("-", "")}`;
      return `# OpenBao's auto-unseal key (seal "static", OpenBao 2.4 or later), for the stage that deploys OpenBao.
# kustomize-controller decrypts it into the cluster; mount it into the OpenBao pods at /openbao/unseal
# (read-only, defaultMode 0400) and add to OpenBao's server configuration:
#   seal "static" {
#     current_key_id = "${keyId}"
#     current_key    = "file:///openbao/unseal/${keyId}.key"
#   }
# Rotation: write a new key under a new id, move the old one to previous_key_id / previous_key.
# Losing this key loses the vault's data: keep this encrypted file in the site repository.
apiVersion: v1
kind: Secret
metadata:
  name: openbao-static-seal
  namespace: openbao
type: Opaque
data:
  ${keyId}.key: ${key}
`;
    }
  }
}
