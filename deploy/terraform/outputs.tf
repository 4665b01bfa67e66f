# What the khutulun module gives back: each machine's cloud-init user-data and agent flags,
# and the address the hosts join.

output "user_data" {
  description = "Each host's cloud-init user-data (#cloud-config), by host name: pass it to the resource that creates the machine."
  value       = local.user_data
}

output "agent_flags" {
  description = "Each host's `khutulun agent` flags, by host name."
  value       = local.agent_flags
}

output "first_address" {
  description = "The first host's membership address, which the other hosts join."
  value       = local.first_address
}

output "ansible_inventory" {
  description = "The Ansible inventory the ansible alternative runs the role with (JSON)."
  value       = jsonencode(local.inventory)
}
