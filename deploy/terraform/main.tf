# The khutulun module: for a list of new machines, the cloud-init user-data that installs
# Khutulun on each, mounts the cluster's store and starts the agent joined to the first host;
# or, alternatively, a run of the Ansible role in deploy/ansible against the same machines.
# It creates no machine itself: pass user_data[name] to whatever creates them.

terraform {
  # terraform_data, and optional() attributes in object types.
  required_version = ">= 1.4"
}

locals {
  first_address = "${var.hosts[0].address}:${var.port}"

  # The package's unit runs /usr/bin/khutulun; a downloaded binary lives in /usr/local/bin.
  binary_path = var.install == "deb" ? "/usr/bin/khutulun" : "/usr/local/bin/khutulun"
  unit        = replace(file("${path.module}/../systemd/khutulun-agent.service"), "/usr/bin/khutulun", local.binary_path)

  # The packages a mount of the store needs.
  mount_packages = var.store_mount == null ? [] : lookup({
    "nfs"        = ["nfs-common"]
    "nfs4"       = ["nfs-common"]
    "fuse.sshfs" = ["sshfs"]
  }, var.store_mount.fstype, [])

  # Each host's `khutulun agent` flags: its name, its address, the first host to join.
  agent_flags = {
    for index, host in var.hosts : host.name => join(" ", concat(
      ["--name", host.name, "--listen", "${host.address}:${var.port}"],
      index == 0 ? [] : ["--join", local.first_address],
      flatten([for key, value in var.labels : ["--label", "${key}=${value}"]]),
    ))
  }

  user_data = {
    for host in var.hosts : host.name => templatefile("${path.module}/cloud-init.yaml.tftpl", {
      packages       = concat(["curl", "ca-certificates"], local.mount_packages)
      install_script = file("${path.module}/khutulun-install.sh")
      install_env = join("", [
        "KHUTULUN_INSTALL=\"${var.install}\"\n",
        "KHUTULUN_PACKAGE_URL=\"${var.package_url}\"\n",
        "KHUTULUN_PACKAGE_SHA256=\"${var.package_sha256}\"\n",
        "KHUTULUN_STORE_FSTAB=\"${var.store_mount == null ? "" : "${var.store_mount.source} ${var.store_path} ${var.store_mount.fstype} ${var.store_mount.options} 0 0"}\"\n",
      ])
      agent_config = join("", [
        "KHUTULUN_STATE=\"${var.store_path}\"\n",
        "KHUTULUN_RUNTIME=\"/run/khutulun\"\n",
        "KHUTULUN_AGENT_ARGS=\"${local.agent_flags[host.name]}\"\n",
      ])
      unit           = local.unit
    })
  }

  # The same cluster as an Ansible inventory (JSON is YAML to Ansible's inventory).
  inventory = {
    khutulun = {
      hosts = {
        for index, host in var.hosts : host.name => {
          ansible_host    = host.address
          khutulun_listen = "${host.address}:${var.port}"
          khutulun_join   = index == 0 ? [] : [local.first_address]
        }
      }
      vars = merge({
        ansible_user                = var.ansible.ssh_user
        ansible_become              = var.ansible.ssh_user != "root"
        khutulun_install            = var.install
        khutulun_deb                = var.install == "deb" ? var.ansible.artifact : ""
        khutulun_binary             = var.install == "binary" ? var.ansible.artifact : ""
        khutulun_store              = var.store_path
        khutulun_store_mount_src    = var.store_mount == null ? "" : var.store_mount.source
        khutulun_store_mount_fstype = var.store_mount == null ? "nfs" : var.store_mount.fstype
        khutulun_store_mount_opts   = var.store_mount == null ? "defaults,_netdev" : var.store_mount.options
        khutulun_labels             = var.labels
      }, var.ansible.extra_vars)
    }
  }
}

# The Ansible alternative: runs the role against the machines once they answer on SSH (give
# the module a depends_on on whatever creates them), again whenever the inventory changes.
resource "terraform_data" "ansible" {
  count            = var.ansible.enabled ? 1 : 0
  triggers_replace = [jsonencode(local.inventory), var.ansible.playbook]

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      inventory="$(mktemp --suffix=.json)"
      trap 'rm -f "$inventory"' EXIT
      printf '%s' "$KHUTULUN_INVENTORY" >"$inventory"
      ansible-playbook -i "$inventory" "$KHUTULUN_PLAYBOOK"
    EOT
    environment = {
      KHUTULUN_INVENTORY = jsonencode(local.inventory)
      KHUTULUN_PLAYBOOK  = var.ansible.playbook != "" ? var.ansible.playbook : "${path.module}/../ansible/site.yml"
    }
  }
}
