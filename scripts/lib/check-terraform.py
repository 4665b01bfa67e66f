#!/usr/bin/env python3
"""Checks a Terraform module without Terraform (no terraform binary is reachable from CI):
every .tf file parses (python-hcl2), every `var.X` and `local.X` it uses is declared, every
declared variable is used and has a type and a description, every file()/templatefile() it
reads exists, every templatefile() passes exactly the names its template uses, and every
local-exec command is valid bash. A template may only insert `${name}` or
`${jsonencode(name)}` (so this script renders it as Terraform would): it is rendered with
values full of YAML's special characters, and for a #cloud-config template each value must come
back intact from the parsed document.

Usage: check-terraform.py MODULE_DIR. Prints what it checked; exits 1 naming every problem.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import hcl2
import yaml
from lark import Token, Tree

# What a template may insert; anything else (directives, other functions) is refused.
PLACEHOLDER = re.compile(r"(?<!\$)\$\{\s*(?:([A-Za-z_][A-Za-z0-9_]*)|jsonencode\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\))\s*\}")
ANY_INTERPOLATION = re.compile(r"(?<![$%])[$%]\{")


def children(tree, kind):
    return [c for c in tree.children if isinstance(c, Tree) and str(c.data) == kind]


def only_identifier(expr_term):
    """The name when this expression is a bare identifier, else None."""
    if isinstance(expr_term, Tree) and str(expr_term.data) == "expr_term":
        kids = [c for c in expr_term.children if isinstance(c, Tree)]
        if len(kids) == 1 and str(kids[0].data) == "identifier":
            return str(kids[0].children[0])
    return None


def references(tree):
    """Every `var.NAME` and `local.NAME` in a parsed file, as (kind, name)."""
    found = set()
    for node in tree.iter_subtrees():
        if str(node.data) != "get_attr_expr_term":
            continue
        base, attr = node.children[0], node.children[1]
        kind = only_identifier(base)
        if kind in ("var", "local") and str(attr.data) == "get_attr":
            name = [c for c in attr.children if isinstance(c, Tree)][0]
            found.add((kind, str(name.children[0])))
    return found


def string_text(expr_term):
    """A string expression as text, with `${path.module}` kept and any other interpolation
    refused (None)."""
    strings = [c for c in expr_term.children if isinstance(c, Tree) and str(c.data) == "string"]
    if len(strings) != 1:
        return None
    text = ""
    for part in children(strings[0], "string_part"):
        piece = part.children[0]
        if isinstance(piece, Token):
            text += str(piece)
            continue
        inner = [c for c in piece.children if isinstance(c, Tree)][0]
        nodes = [c for c in inner.children if isinstance(c, Tree)]
        if (
            len(nodes) == 1
            and str(nodes[0].data) == "get_attr_expr_term"
            and only_identifier(nodes[0].children[0]) == "path"
            and str(nodes[0].children[1].children[1].children[0]) == "module"
        ):
            text += "${path.module}"
        else:
            return None
    return text


def file_reads(tree):
    """Every file() and templatefile() call: (function, path text or None, keys or None)."""
    calls = []
    for node in tree.iter_subtrees():
        if str(node.data) != "function_call":
            continue
        name = str(node.children[0].children[0])
        if name not in ("file", "templatefile"):
            continue
        arguments = children(node, "arguments")
        args = [c for c in arguments[0].children if isinstance(c, Tree)] if arguments else []
        path = string_text(args[0]) if args else None
        keys = None
        if name == "templatefile" and len(args) == 2:
            objects = children(args[1], "object")
            if objects:
                keys = set()
                for elem in children(objects[0], "object_elem"):
                    key = children(elem, "object_elem_key")[0].children[0]
                    keys.add(only_identifier(key) or (string_text(key) or "").strip('"'))
        calls.append((name, path, keys))
    return calls


def declared(documents):
    """Declared variables (name -> body) and locals (names) of the module's files."""
    variables, local_names = {}, set()
    for document in documents.values():
        for block in document.get("variable", []):
            for name, body in block.items():
                variables[name.strip('"')] = body
        for block in document.get("locals", []):
            local_names.update(k for k in block if not k.startswith("__"))
    return variables, local_names


def local_exec_commands(documents):
    """The command of every local-exec provisioner, with its interpreter."""
    found = []
    for path, document in documents.items():
        for block in document.get("resource", []):
            for _type, named in block.items():
                if _type.startswith("__"):
                    continue
                for _name, body in named.items():
                    if _name.startswith("__"):
                        continue
                    for provisioner in body.get("provisioner", []):
                        for kind, settings in provisioner.items():
                            if kind.strip('"') == "local-exec":
                                found.append((path.name, settings))
    return found


def heredoc_text(value):
    """The text of a `<<-EOT` heredoc as python-hcl2 gives it (in quotes), indentation removed."""
    if value.startswith('"<<') and value.endswith('"'):
        value = value[1:-1]
    lines = value.split("\n")
    if not lines[0].startswith("<<"):
        return None
    body = lines[1:-1]
    if lines[0].startswith("<<-"):
        indent = min((len(l) - len(l.lstrip()) for l in body if l.strip()), default=0)
        body = [l[indent:] for l in body]
    return "\n".join(body) + "\n"


def render(template, values):
    """Renders a template that only uses `${name}` and `${jsonencode(name)}`."""

    def insert(match):
        plain, encoded = match.group(1), match.group(2)
        if plain is not None:
            return str(values[plain])
        return json.dumps(values[encoded], ensure_ascii=False)

    return PLACEHOLDER.sub(insert, template).replace("$${", "${").replace("%%{", "%{")


def contains(document, value):
    if document == value:
        return True
    if isinstance(document, dict):
        return any(contains(v, value) for v in document.values())
    if isinstance(document, list):
        return any(contains(v, value) for v in document)
    return False


def check_template(template_path, keys, problems, notes):
    template = template_path.read_text()
    used = {m.group(1) or m.group(2) for m in PLACEHOLDER.finditer(template)}
    leftover = ANY_INTERPOLATION.findall(PLACEHOLDER.sub("", template))
    if leftover:
        problems.append(
            f"{template_path.name}: only ${{name}} and ${{jsonencode(name)}} may be inserted "
            f"(found {len(leftover)} other interpolation(s) or directive(s))"
        )
        return
    for name in sorted(used - keys):
        problems.append(f"{template_path.name} uses ${{{name}}}, which templatefile() does not pass")
    for name in sorted(keys - used):
        problems.append(f"templatefile() passes {name}, which {template_path.name} does not use")
    if used != keys:
        return
    # Values with everything that could break YAML if inserted without quoting.
    values = {
        name: f"{name}: 'single' \"double\" #not-a-comment\n- not a list\n  {{braces}} ${{x}} \\ end"
        for name in keys
    }
    rendered = render(template, values)
    if template.startswith("#cloud-config"):
        try:
            document = yaml.safe_load(rendered)
        except yaml.YAMLError as error:
            problems.append(f"{template_path.name} rendered is not YAML: {error}")
            return
        if not isinstance(document, dict):
            problems.append(f"{template_path.name} rendered is not a YAML mapping")
            return
        for name, value in values.items():
            if not contains(document, value):
                problems.append(f"{template_path.name}: the value of {name} does not come back intact")
        notes.append(
            f"{template_path.name}: {len(keys)} values rendered, parsed back intact as YAML "
            f"(top-level keys: {', '.join(document)})"
        )


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    module = Path(sys.argv[1])
    problems, notes = [], []
    files = sorted(module.glob("*.tf"))
    if not files:
        problems.append(f"no .tf file in {module}")
    trees, documents = {}, {}
    for path in files:
        try:
            trees[path] = hcl2.parses_to_tree(path.read_text())
            documents[path] = hcl2.loads(path.read_text())
        except Exception as error:  # python-hcl2 raises lark's errors, of several classes
            problems.append(f"{path.name} does not parse: {error}")
    variables, local_names = declared(documents)

    used = set()
    for path, tree in trees.items():
        refs = references(tree)
        used |= refs
        for kind, name in sorted(refs):
            if kind == "var" and name not in variables:
                problems.append(f"{path.name} uses var.{name}, which no variable block declares")
            if kind == "local" and name not in local_names:
                problems.append(f"{path.name} uses local.{name}, which no locals block defines")
        for function, text, keys in file_reads(tree):
            if text is None or not text.startswith("${path.module}/"):
                problems.append(f"{path.name}: a {function}() whose path is not \"${{path.module}}/...\"")
                continue
            target = module / text.removeprefix("${path.module}/")
            if not target.is_file():
                problems.append(f"{path.name}: {function}() reads {text}, which does not exist")
                continue
            if function == "templatefile":
                if keys is None:
                    problems.append(f"{path.name}: templatefile({text}) without an object of values")
                else:
                    check_template(target, keys, problems, notes)
    for name, body in sorted(variables.items()):
        if ("var", name) not in used:
            problems.append(f"variable {name} is declared but never used")
        for field in ("type", "description"):
            if field not in body:
                problems.append(f"variable {name} has no {field}")

    for filename, settings in local_exec_commands(documents):
        command = heredoc_text(settings.get("command", "")) or ""
        interpreter = str(settings.get("interpreter", ""))
        if "bash" not in interpreter or not command:
            problems.append(f"{filename}: a local-exec whose command is not a bash heredoc")
            continue
        if ANY_INTERPOLATION.search(command):
            problems.append(f"{filename}: a local-exec command with an interpolation (pass values in environment)")
            continue
        result = subprocess.run(["bash", "-n"], input=command.replace("$${", "${"), text=True,
                                capture_output=True)
        if result.returncode != 0:
            problems.append(f"{filename}: a local-exec command is not valid bash: {result.stderr.strip()}")
        else:
            notes.append(f"{filename}: a local-exec command passes bash -n")

    notes.insert(0, f"{len(trees)} of {len(files)} files parsed, {len(variables)} variables and "
                    f"{len(local_names)} locals declared, {len(used)} references checked")
    for note in notes:
        print(f"ok: {note}")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
