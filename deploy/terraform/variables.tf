# The inputs of the khutulun module: the new machines, how Khutulun gets onto them, their
# shared store, and whether the Ansible role (deploy/ansible) installs it instead of cloud-init.

variable "hosts" {
  description = "The new machines: each one's name in the cluster and the address the other hosts reach it at. The others join the first one."
  type = list(object({
    name    = string
    address = string
  }))
  validation {
    condition     = length(var.hosts) > 0 && length(distinct([for host in var.hosts : host.name])) == length(var.hosts)
    error_message = "hosts must list at least one machine, each under a name of its own."
  }
}

variable "install" {
  description = "What cloud-init downloads from package_url: \"deb\" (the Debian package `cargo deb` builds) or \"binary\" (the khutulun binary; the unit is then written from deploy/systemd)."
  type        = string
  default     = "deb"
  validation {
    condition     = contains(["deb", "binary"], var.install)
    error_message = "install must be \"deb\" or \"binary\"."
  }
}

variable "package_url" {
  description = "The HTTP(S) URL the machines download the .deb or the binary from (cloud-init only)."
  type        = string
  default     = ""
}

variable "package_sha256" {
  description = "The SHA-256 of what package_url serves, checked before it is installed; empty to skip the check."
  type        = string
  default     = ""
}

variable "port" {
  description = "The port the agents' membership (UDP) and host-to-host messages (TCP) use."
  type        = number
  default     = 7946
}

variable "store_path" {
  description = "Where every machine has the cluster's store."
  type        = string
  default     = "/srv/khutulun"
}

variable "store_mount" {
  description = "What to mount at store_path (an fstab source, type and options, e.g. nfs.example:/export/khutulun, nfs); null for a local directory (a cluster of one)."
  type = object({
    source  = string
    fstype  = string
    options = optional(string, "defaults,_netdev")
  })
  default = null
}

variable "labels" {
  description = "Labels every agent carries (--label KEY=VALUE), for Placement and Distribution policies."
  type        = map(string)
  default     = {}
}

variable "ansible" {
  description = "Run the Ansible role (deploy/ansible) from this machine over SSH instead of relying on cloud-init: the playbook, the .deb or binary on this machine (artifact, installed as install says), the SSH user, and more role variables."
  type = object({
    enabled    = optional(bool, false)
    playbook   = optional(string, "")
    artifact   = optional(string, "")
    ssh_user   = optional(string, "root")
    extra_vars = optional(map(string), {})
  })
  default = {}
}
