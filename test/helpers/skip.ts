/**
 * The reason for a skip that `make test` allows under CI=true: the machine lacks something no
 * package can give (root, /dev/kvm, a kernel feature). Any other skip fails the run in CI
 * (scripts/run-tests.mjs); for a missing program, add its Debian package instead.
 */
export function notOnThisMachine(reason: string): string {
  return `not on this machine: ${reason}`;
}
