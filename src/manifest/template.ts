/** The commented starting point `airstrap init --example` writes. Every field is explained once here. */
export const MANIFEST_TEMPLATE = `# airstrap cluster manifest. Check it with: airstrap validate
# Values may use \${VAR} or \${VAR:-default} from the environment.
apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata:
  name: edge                      # cluster name; lower-case DNS label
spec:
  domain: edge.lan                # the site's DNS domain: hosts are <name>.edge.lan
  # clusterRecord: edge-cluster   # resolves on every node to the node itself (default <name>-cluster)
  distro:
    name: rke2                    # rke2 or k3s
    version: v1.31.4+rke2r1       # K3s: v1.31.4+k3s1
    arch: amd64                   # amd64 or arm64
  # network:                      # defaults: 10.42.0.0/16 and 10.43.0.0/16
  #   podCIDR: 10.42.0.0/16
  #   serviceCIDR: 10.43.0.0/16
  bootstrap:
    address: 10.77.0.1            # this machine, as the site sees it
  ssh:
    user: root
    port: 22
    # identityFile: ~/.ssh/id_ed25519   # default: the SSH agent
    sudo: false                   # true when user is not root
    # bastion: { address: 10.0.0.5, user: jump }
  hosts:                          # an odd number of servers keeps etcd quorum
    - name: k8s-server-01
      address: 10.77.0.11
      role: server                # server or agent
      primary: true               # initialises the cluster (default: the first server)
      # mac: "52:54:00:77:00:11"  # for PXE
    - { name: k8s-server-02, address: 10.77.0.12, role: server }
    - { name: k8s-server-03, address: 10.77.0.13, role: server }
    - name: k8s-agent-01
      address: 10.77.0.21
      role: agent
      labels: { zone: a }
      # taints: ["dedicated=gpu:NoSchedule"]
      # ssh: { user: admin, sudo: true }   # per-host overrides
  dns:
    port: 53
    upstreams: []                 # forwarders for outside names, e.g. ["10.77.0.53"]; none: refused
    # allowedNetworks: [10.77.0.0/24]   # who may recurse (default: the hosts' networks and loopback)
    records:
      - { name: git, type: A, value: 10.77.0.30 }
      # - { name: "*.apps", type: CNAME, value: edge-cluster }
      # - { name: _ldap._tcp, type: SRV, value: "10 5 389 ldap" }
      # - { name: info, type: TXT, value: "site edge" }
  loadBalancer:                   # node-local; servers bind 6443 and 9345 themselves
    apiPort: 16443
    joinPort: 19345
  registry:
    port: 5000
    # hosts: [k8s-server-01]      # replicas (default: every server)
    mirrors: [docker.io, quay.io, ghcr.io, registry.k8s.io]
  artifacts:
    # source: /media/usb/airstrap # local folder or mirror base URL of the release files
    images: []                    # extra images to carry, e.g. docker.io/library/nginx:1.27
    # signer: SHA256:…            # the key fingerprint bundle create prints; bundle load trusts only that key
  # provisioning:                 # PXE: every host with a mac boots over the network
  #   pxe:
  #     interface: eth1           # this machine's interface on the hosts' network
  #     subnet: 10.77.0.0/24
  #     dhcp: proxy               # proxy: the site's DHCP server gives addresses; full: airstrap reserves them by mac
  #     os: { name: flatcar, channel: stable, version: 3975.2.2 }
  #     # templates: ./pxe-templates   # replace built-in Ignition templates (airstrap generate --export-templates DIR)
`;
