"""Validates imagepipe's compose files; deploy/compose/check installs what this needs and runs it.

Every compose file at the repository root (docker-compose.yml, docker-compose.*.yml), or the files named on the
command line, goes through:

1. YAML as Docker Compose reads it (merge keys `<<` resolved; true/false the only booleans; a key twice in one
   mapping is an error), then `${VAR}`, `${VAR:-default}` & co. interpolated as Compose does, with no environment
   (a variable without a default is an error: the files must work as they are);
2. the Compose Specification's JSON schema (the one Docker Compose embeds), with jsonschema;
3. the compose-spec parser (PyPI compose-spec, the Rust compose_spec crate): typed fields, and the volumes,
   networks, secrets and configs that services use are declared;
4. Docker Compose itself: `docker-compose config --quiet`, for the file alone and with each of its profiles;
5. imagepipe's own rules, which no schema knows: dependencies that exist and can be met, services meant to scale
   that can (no container_name, no fixed host port), bind-mounted files that exist, broker and database addresses
   that name every node and member of the file, the files mounted into the containers agreeing with the compose
   file (RabbitMQ's node list and message size, the replica set script, HAProxy's backends) and HAProxy's
   configuration valid (`haproxy -c`), and the services' settings the same as docker-compose.yml's but for those
   addresses.

Then (unless files were named) each mistake of MISTAKES is made in a copy of the files and must be refused by the
checks it names: a rule that stops catching its mistake fails the check too.

Prints a line per check and closes with `compose: N passed, N failed`; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import yaml
from compose_spec import PyCompose

# Services that the documented commands scale (`--scale NAME=N`), per compose file.
SCALED = {
    "docker-compose.yml": ("transformer", "save2db"),
    "docker-compose.cluster.yml": ("gateway", "transformer", "save2db"),
}
# The file whose services' settings the others must repeat, and the settings that may differ (the addresses).
REFERENCE_FILE = "docker-compose.yml"
ADDRESS_SETTINGS = {"AMQP_URL", "MONGODB_URI"}
IMAGEPIPE_IMAGE = "imagepipe:local"
# The checks that need the Docker Compose binary (skipped without it).
COMPOSE_BINARY_CHECKS = ("Compose Specification schema", "docker-compose config")
# Restart policies that let a one-shot service (depends_on ... service_completed_successfully) complete.
ONE_SHOT = ("no", "on-failure")


class Problem(Exception):
    """What is wrong, in words for the person who has to fix the file."""


# ---- 1. YAML as Compose reads it ---------------------------------------------------------------------------------


class ComposeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans (as Compose's Go parser) and no duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = key_node.value
            if key in seen:
                raise Problem(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice in one mapping")
            seen.add(key)
        return super().construct_mapping(node, deep)


ComposeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ComposeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.S)


def interpolate(text: str, env: dict[str, str]) -> str:
    """`text` with Compose's variable syntax substituted: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e},
    ${VAR?e}, ${VAR:+a}, ${VAR+a}, defaults themselves interpolated."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                raise Problem(f"unclosed ${{ in {text!r}")
            out.append(_substitute(text[i + 2 : j - 1], env, text))
            i = j
        elif match := _NAME.match(text, i + 1):
            out.append(_substitute(match.group(), env, text))
            i = match.end()
        else:
            raise Problem(f"invalid interpolation in {text!r} (write $$ for a literal $)")
    return "".join(out)


def _substitute(inner: str, env: dict[str, str], text: str) -> str:
    match = _BRACED.fullmatch(inner)
    if not match:
        raise Problem(f"invalid interpolation ${{{inner}}} in {text!r}")
    name, op, arg = match.group("name", "op", "arg")
    value = env.get(name)
    if op is None:
        if value is None:
            raise Problem(f"${{{name}}} has no default (write ${{{name}:-...}}) in {text!r}")
        return value
    present = bool(value) if op.startswith(":") else value is not None
    if op.endswith("-"):
        return value if present else interpolate(arg, env)
    if op.endswith("+"):
        return interpolate(arg, env) if present else ""
    if not present:
        raise Problem(f"{name} is required ({interpolate(arg, env)}) in {text!r}")
    return value


def interpolate_all(value, env: dict[str, str]):
    if isinstance(value, str):
        return interpolate(value, env)
    if isinstance(value, list):
        return [interpolate_all(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate_all(item, env) for key, item in value.items()}
    return value


def load(path: Path) -> dict:
    try:
        doc = yaml.load(path.read_text(), Loader=ComposeLoader)
    except yaml.YAMLError as error:
        raise Problem(f"not valid YAML: {error}") from error
    if not isinstance(doc, dict):
        raise Problem("not a mapping at the top level")
    return interpolate_all(doc, {})


# ---- 2.-4. the schema, the compose-spec parser, Docker Compose ---------------------------------------------------


def embedded_schema(compose_binary: Path, cache: Path) -> dict:
    """The Compose Specification's JSON schema as embedded in the Docker Compose binary (compose-go's
    schema/compose-spec.json, the one `docker compose` validates against), cached next to the binary."""
    if not cache.exists():
        data = compose_binary.read_bytes()
        marker = data.find(b'"$id": "compose_spec.json"')
        if marker < 0:
            raise SystemExit(f"error: no Compose Specification schema found in {compose_binary}")
        start = data.rfind(b"{", 0, marker)
        schema, _ = json.JSONDecoder().raw_decode(data[start:].decode("utf-8", "replace"))
        cache.write_text(json.dumps(schema, indent=1))
    return json.loads(cache.read_text())


def check_schema(doc: dict, validator: jsonschema.Draft7Validator) -> None:
    messages = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        # Of the alternatives a oneOf tried, the one that got furthest into the value says what is wrong.
        detail = error
        while detail.context:
            detail = max(detail.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
        where = "/".join(map(str, detail.absolute_path)) or "(top level)"
        messages.append(f"{where}: {detail.message}")
    if messages:
        raise Problem("; ".join(messages))


def check_parser(doc: dict) -> None:
    try:
        PyCompose.from_json(json.dumps(doc)).validate()
    except ValueError as error:
        # Positions are in the JSON handed over, not in the file: leave them out.
        raise Problem(re.sub(r" at line \d+ column \d+", "", str(error))) from error


def compose_config(compose: Path, root: Path, path: Path, profile: str | None) -> None:
    with tempfile.TemporaryDirectory() as home:
        command = [str(compose), "--project-directory", str(root), "--env-file", os.devnull, "-f", str(path)]
        if profile:
            command += ["--profile", profile]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "DOCKER_CONFIG": home}
        result = subprocess.run(command + ["config", "--quiet"], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise Problem((result.stderr or result.stdout).strip())


# ---- 5. imagepipe's rules ----------------------------------------------------------------------------------------


def services(doc: dict) -> dict[str, dict]:
    return doc.get("services") or {}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of the service's bind mounts."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
                mounts.append((parts[0], parts[1]))
        elif volume.get("type") == "bind":
            mounts.append((volume["source"], volume["target"]))
    return mounts


def mounted_files(doc: dict, root: Path, target: str | re.Pattern) -> dict[Path, list[str]]:
    """The files (that exist) bind-mounted at `target` (or at a path matching it), each with the services that
    mount it."""
    found: dict[Path, list[str]] = {}
    for name, service in services(doc).items():
        for source, mount_target in bind_mounts(service):
            matches = target.fullmatch(mount_target) if isinstance(target, re.Pattern) else mount_target == target
            if matches and (root / source).is_file():
                found.setdefault(root / source, []).append(name)
    return found


def rule_dependencies(doc: dict) -> None:
    """Every depends_on target is a service of the file; one waited for as healthy has a healthcheck, one waited
    for as completed does not restart."""
    problems = []
    for name, service in services(doc).items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, how in depends_on.items():
            other = services(doc).get(target)
            if other is None:
                problems.append(f"{name} depends on {target}, which is not a service of this file")
                continue
            healthcheck = other.get("healthcheck") or {}
            has_healthcheck = not healthcheck.get("disable") and healthcheck.get("test") not in (None, ["NONE"])
            restart = str(other.get("restart", "no"))
            if how.get("condition") == "service_healthy" and not has_healthcheck:
                problems.append(f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
            if how.get("condition") == "service_completed_successfully" and restart.split(":")[0] not in ONE_SHOT:
                problems.append(f"{name} waits for {target} to complete, but {target} restarts ({restart})")
    if problems:
        raise Problem("; ".join(problems))


def _fixed_host_port(port) -> str | None:
    """The fixed host port a `ports:` entry publishes, or None (container port only, or an ephemeral host port)."""
    if isinstance(port, dict):
        published = str(port.get("published") or "")
        return published if published and "-" not in published else None
    spec = str(port).split("/")[0]
    host_part = spec.rsplit("]", 1)[-1] if spec.startswith("[") else spec
    parts = host_part.split(":")
    if spec.startswith("["):
        parts = parts[1:]
    published = parts[-2] if len(parts) >= 2 else ""
    return published if published and "-" not in published else None


def rule_scaling(doc: dict, file_name: str) -> None:
    """The services the documented commands scale have no container_name and publish no fixed host port."""
    problems = []
    for name in SCALED.get(file_name, ()):
        service = services(doc).get(name)
        if service is None:
            problems.append(f"{name} is documented as scalable but is not a service of this file")
            continue
        if "container_name" in service:
            problems.append(f"{name} has container_name, so `--scale {name}=N` fails: replicas need their own names")
        fixed = [port for port in service.get("ports") or [] if _fixed_host_port(port)]
        if fixed:
            problems.append(
                f"{name} publishes host port {', '.join(_fixed_host_port(p) for p in fixed)}, so `--scale {name}=N` "
                "fails: only one replica can bind it"
            )
    if problems:
        raise Problem("; ".join(problems))


def rule_files(doc: dict, root: Path) -> None:
    """Everything the file takes from the repository exists: bind-mounted paths, build contexts and Dockerfiles,
    secret, config and env files. (A missing bind source becomes an empty directory in the container.)"""
    missing = []
    for name, service in services(doc).items():
        for source, target in bind_mounts(service):
            if not source.startswith("/") and not (root / source).exists():
                missing.append(f"{name} mounts {source} at {target}")
        build = service.get("build")
        if build:
            context = root / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not context.is_dir():
                missing.append(f"{name} builds in {context}")
            elif not (context / dockerfile).is_file():
                missing.append(f"{name} builds from {dockerfile}")
        env_files = service.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path, required = (
                (env_file, True) if isinstance(env_file, str) else (env_file["path"], env_file.get("required", True))
            )
            if required and not (root / path).is_file():
                missing.append(f"{name} reads {path}")
    for kind in ("secrets", "configs"):
        for name, item in (doc.get(kind) or {}).items():
            if "file" in (item or {}) and not (root / item["file"]).exists():
                missing.append(f"{kind[:-1]} {name} is read from {item['file']}")
    if missing:
        raise Problem("missing from the repository: " + "; ".join(missing))


def shown(path: Path, root: Path) -> str:
    """The path as the person reading the report knows it: from the repository root when it is in there."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def rabbitmq_nodes(doc: dict) -> dict[str, str | None]:
    """The file's RabbitMQ nodes: service name (the address the others use) -> its fixed hostname, if any."""
    return {
        name: service.get("hostname")
        for name, service in services(doc).items()
        if str(service.get("image", "")).startswith("rabbitmq:")
    }


def mongo_members(doc: dict) -> tuple[str | None, set[str]]:
    """The replica set name and its members (service:port, the addresses the others use) of the file's mongod
    services started with --replSet."""
    set_name, members = None, set()
    for name, service in services(doc).items():
        command = service.get("command") or []
        command = command.split() if isinstance(command, str) else [str(arg) for arg in command]
        if "--replSet" in command:
            set_name = command[command.index("--replSet") + 1]
            port = command[command.index("--port") + 1] if "--port" in command else "27017"
            members.add(f"{name}:{port}")
    return set_name, members


def rule_addresses(doc: dict, root: Path) -> None:
    """AMQP_URL names every RabbitMQ node of the file, MONGODB_URI every member of its replica set (and the set),
    and the files mounted into the nodes say the same."""
    problems = []
    nodes = rabbitmq_nodes(doc)
    set_name, members = mongo_members(doc)
    if len(nodes) > 1:
        # A node is rabbit@<its hostname>: the others must reach it by that name, and it must not change.
        for name, hostname in nodes.items():
            if hostname != name:
                problems.append(
                    f"{name} must have `hostname: {name}`: its node name is rabbit@<hostname>, which the "
                    "other nodes look up and its data directory is named after"
                )
    for name, service in services(doc).items():
        env = environment(service)
        if "AMQP_URL" in env and nodes:
            named = {urlsplit(url.strip()).hostname for url in env["AMQP_URL"].split(",")}
            if named != set(nodes):
                problems.append(
                    f"{name}: AMQP_URL names {', '.join(sorted(named))}, the file's nodes are "
                    f"{', '.join(sorted(nodes))}"
                )
        if "MONGODB_URI" in env and members:
            uri = urlsplit(env["MONGODB_URI"])
            hosts = {host if ":" in host else f"{host}:27017" for host in uri.netloc.rsplit("@", 1)[-1].split(",")}
            query = parse_qs(uri.query)
            if hosts != members:
                problems.append(
                    f"{name}: MONGODB_URI names {', '.join(sorted(hosts))}, the replica set is "
                    f"{', '.join(sorted(members))}"
                )
            if query.get("replicaSet") != [set_name]:
                problems.append(f"{name}: MONGODB_URI must say replicaSet={set_name}")
            if query.get("w") != ["majority"]:
                problems.append(f"{name}: MONGODB_URI must say w=majority (writes a failover cannot lose)")
    # RabbitMQ's cluster member list, in the conf.d file mounted into the nodes.
    wanted = {f"rabbit@{name}" for name in nodes}
    for conf, mounted_in in mounted_files(doc, root, re.compile(r"/etc/rabbitmq/conf\.d/.+\.conf")).items():
        listed = set(
            re.findall(r"^\s*cluster_formation\.classic_config\.nodes\.\d+\s*=\s*(\S+)", conf.read_text(), re.M)
        )
        if listed and listed != wanted:
            problems.append(
                f"{shown(conf, root)} (mounted in {', '.join(mounted_in)}) lists {', '.join(sorted(listed))}, "
                f"the file's nodes are {', '.join(sorted(wanted))}"
            )
    # The replica set script run by a one-shot mongo service.
    for script, run_by in mounted_files(doc, root, re.compile(r".+\.js")).items():
        text = script.read_text()
        script_set = re.search(r'^const SET = "([^"]+)"', text, re.M)
        script_members = re.search(r"^const MEMBERS = \[([^\]]*)\]", text, re.M)
        if script_set and script_members and members:
            listed = set(re.findall(r'"([^"]+)"', script_members.group(1)))
            if script_set.group(1) != set_name or listed != members:
                problems.append(
                    f"{shown(script, root)} (run by {', '.join(run_by)}) initiates {script_set.group(1)} of "
                    f"{', '.join(sorted(listed))}; the file has {set_name} of {', '.join(sorted(members))}"
                )
    if problems:
        raise Problem("; ".join(problems))


def rule_message_size(doc: dict, root: Path) -> None:
    """AMQP_MAX_MESSAGE_BYTES equals the broker's max_message_size (rabbitmq.conf as mounted in the nodes)."""
    problems = []
    for conf, nodes in mounted_files(doc, root, "/etc/rabbitmq/rabbitmq.conf").items():
        match = re.search(r"^\s*max_message_size\s*=\s*(\d+)", conf.read_text(), re.M)
        limit = match.group(1) if match else "134217728 (RabbitMQ 3.x's default)"
        for name, service in services(doc).items():
            value = environment(service).get("AMQP_MAX_MESSAGE_BYTES")
            if value is not None and value != limit.split()[0]:
                problems.append(
                    f"{name}: AMQP_MAX_MESSAGE_BYTES is {value}, {shown(conf, root)} (mounted in "
                    f"{', '.join(nodes)}) says max_message_size = {limit}"
                )
    if problems:
        raise Problem("; ".join(sorted(set(problems))))


def rule_haproxy(doc: dict, root: Path, haproxy: str | None) -> None:
    """Each HAProxy configuration mounted in the file is valid, and its server templates point at a service of
    the file on the port that service listens on."""
    problems = []
    for cfg in mounted_files(doc, root, "/usr/local/etc/haproxy/haproxy.cfg"):
        if not haproxy:
            raise Problem(f"haproxy is not installed: cannot check {shown(cfg, root)}")
        result = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True)
        # Its alerts and warnings, without the banner; a warning fails too (a clean configuration has none).
        said = [
            re.sub(r"^\[(ALERT|WARNING)\]\s*\(\d+\)\s*:\s*", "", line).strip()
            for line in (result.stderr + result.stdout).splitlines()
            if re.match(r"^\[(ALERT|WARNING)\]", line)
        ]
        if result.returncode != 0 or said:
            problems.append(
                f"haproxy -c -f {shown(cfg, root)}: " + " / ".join(said or ["exit status " + str(result.returncode)])
            )
        for target, port in re.findall(r"^\s*server-template\s+\S+\s+\S+\s+([\w.-]+):(\d+)", cfg.read_text(), re.M):
            backend = services(doc).get(target)
            if backend is None:
                problems.append(f"{shown(cfg, root)} sends to {target}, which is not a service of this file")
            elif not any(
                key.endswith("_HTTP_ADDR") and value.endswith(f":{port}") for key, value in environment(backend).items()
            ):
                problems.append(f"{shown(cfg, root)} sends to {target}:{port}, but {target} does not listen there")
    if problems:
        raise Problem("; ".join(problems))


def rule_same_settings(doc: dict, reference: dict | None) -> None:
    """The imagepipe services run with docker-compose.yml's settings, but for the broker and database addresses."""
    if reference is None:
        return
    problems = []
    for name, service in services(doc).items():
        other = services(reference).get(name)
        if service.get("image") != IMAGEPIPE_IMAGE or other is None:
            continue
        ours, theirs = environment(service), environment(other)
        for key in sorted((set(ours) | set(theirs)) - ADDRESS_SETTINGS):
            if ours.get(key) != theirs.get(key):
                problems.append(f"{name}: {key} is {ours.get(key)!r} here, {theirs.get(key)!r} in {REFERENCE_FILE}")
    if problems:
        raise Problem("; ".join(problems))


# ---- the run -------------------------------------------------------------------------------------------------------


class Report:
    def __init__(self, quiet: bool = False) -> None:
        self.passed = self.failed = 0
        self.quiet = quiet
        self.failures: list[str] = []

    def check(self, what: str, action, *args) -> bool:
        try:
            action(*args)
        except Problem as problem:
            self.failed += 1
            self.failures.append(what)
            if not self.quiet:
                print(f"FAIL  {what}: {' '.join(str(problem).split())}")
            return False
        self.passed += 1
        if not self.quiet:
            print(f"ok    {what}")
        return True


def check_file(report: Report, path: Path, args: argparse.Namespace, validator, reference: dict | None) -> None:
    label, root = path.name, args.root
    loaded: list[dict] = []
    if not report.check(f"{label}: YAML, merge keys, interpolation", lambda: loaded.append(load(path))):
        return
    doc = loaded[0]
    if validator:
        report.check(f"{label}: Compose Specification schema", check_schema, doc, validator)
    report.check(f"{label}: compose-spec parser", check_parser, doc)
    if args.compose:
        profiles = sorted({p for service in services(doc).values() for p in service.get("profiles") or []})
        for profile in [None, *profiles]:
            flag = f" --profile {profile}" if profile else ""
            report.check(f"{label}: docker-compose{flag} config", compose_config, args.compose, root, path, profile)
    report.check(f"{label}: depends_on targets exist and can be met", rule_dependencies, doc)
    report.check(f"{label}: scalable services can scale", rule_scaling, doc, label)
    report.check(f"{label}: mounted and built files exist", rule_files, doc, root)
    report.check(f"{label}: broker and database addresses", rule_addresses, doc, root)
    report.check(f"{label}: AMQP_MAX_MESSAGE_BYTES matches the broker", rule_message_size, doc, root)
    report.check(f"{label}: HAProxy configuration", rule_haproxy, doc, root, args.haproxy)
    if label != REFERENCE_FILE:
        report.check(f"{label}: settings as in {REFERENCE_FILE}", rule_same_settings, doc, reference)


# Mistakes the check must catch, made on copies of the real files: (what, file changed, text, replacement, the
# checks that must fail). A rule that stops catching its mistake (a pattern that no longer matches after an edit)
# fails the check here; so does a mistake whose text is no longer in the file (update it here then).
MISTAKES = [
    (
        "a typo'd key",
        "docker-compose.cluster.yml",
        "  stop_grace_period: 40s",
        "  stop_grace_perod: 40s",
        ["Compose Specification schema", "compose-spec parser", "docker-compose config"],
    ),
    (
        "a depends_on condition that does not exist",
        "docker-compose.cluster.yml",
        "condition: service_completed_successfully",
        "condition: service_completed",
        ["Compose Specification schema", "compose-spec parser", "docker-compose config"],
    ),
    (
        "a host port on the scaled gateway",
        "docker-compose.cluster.yml",
        '    command: ["imagepipe-gateway"]\n',
        '    command: ["imagepipe-gateway"]\n    ports: ["8081:8080"]\n',
        ["scalable services can scale"],
    ),
    (
        "a container_name on the scaled transformer",
        "docker-compose.yml",
        '    command: ["imagepipe-transformer"]\n',
        '    command: ["imagepipe-transformer"]\n    container_name: transformer\n',
        ["scalable services can scale"],
    ),
    (
        "AMQP_URL without rabbitmq3",
        "docker-compose.cluster.yml",
        ",amqp://imagepipe:imagepipe@rabbitmq3:5672/%2f",
        "",
        ["broker and database addresses"],
    ),
    (
        "MONGODB_URI without w=majority",
        "docker-compose.cluster.yml",
        "replicaSet=rs0&w=majority",
        "replicaSet=rs0",
        ["broker and database addresses"],
    ),
    (
        "a node that is not in rabbitmq-cluster.conf",
        "deploy/compose/rabbitmq-cluster.conf",
        "rabbit@rabbitmq3",
        "rabbit@rabbitmq4",
        ["broker and database addresses"],
    ),
    (
        "a member that the replica set script does not know",
        "deploy/compose/mongo-init-replica-set.js",
        '"mongo3:27017"',
        '"mongo4:27017"',
        ["broker and database addresses"],
    ),
    (
        "a dependency on a service that does not exist",
        "docker-compose.cluster.yml",
        "      mongo-init:\n        condition: service_completed_successfully\n\n  transformer:",
        "      mongo-inti:\n        condition: service_completed_successfully\n\n  transformer:",
        ["docker-compose config", "depends_on targets exist and can be met"],
    ),
    (
        "a one-shot service that restarts",
        "docker-compose.cluster.yml",
        '    restart: "no"\n',
        "    restart: unless-stopped\n",
        ["depends_on targets exist and can be met"],
    ),
    (
        "a bind mount of a file that is not there",
        "docker-compose.cluster.yml",
        "./deploy/compose/haproxy.cfg:",
        "./deploy/compose/haproxy.conf:",
        ["mounted and built files exist"],
    ),
    (
        "a broken HAProxy keyword",
        "deploy/compose/haproxy.cfg",
        "timeout tunnel",
        "timeout tunel",
        ["HAProxy configuration"],
    ),
    (
        "HAProxy sending to a port the gateway does not listen on",
        "deploy/compose/haproxy.cfg",
        "gateway:8080 check",
        "gateway:8081 check",
        ["HAProxy configuration"],
    ),
    (
        "a broker message size the services do not know",
        "deploy/rabbitmq/rabbitmq.conf",
        "max_message_size = 134217728",
        "max_message_size = 67108864",
        ["AMQP_MAX_MESSAGE_BYTES matches the broker"],
    ),
    (
        "a setting that drifted from docker-compose.yml",
        "docker-compose.cluster.yml",
        'GATEWAY_MAX_UPLOAD_BYTES: "26214400"',
        'GATEWAY_MAX_UPLOAD_BYTES: "52428800"',
        ["settings as in"],
    ),
    (
        "a variable without a default",
        "docker-compose.cluster.yml",
        "${LOG_FORMAT:-pretty}",
        "${LOG_FORMAT}",
        ["YAML, merge keys, interpolation"],
    ),
    (
        "a key twice in one mapping",
        "docker-compose.cluster.yml",
        "    hostname: mongo2\n",
        "    hostname: mongo2\n    hostname: mongo4\n",
        ["YAML, merge keys, interpolation"],
    ),
]
# What the mistakes are made in: the compose files and everything they mount or build from.
SELF_TEST_FILES = [
    "docker-compose.yml",
    "docker-compose.cluster.yml",
    "deploy/Dockerfile",
    "deploy/rabbitmq",
    "deploy/compose",
]


def self_test(report: Report, args: argparse.Namespace, validator) -> None:
    """Makes each of MISTAKES in a copy of the repository's compose files and checks that the check refuses it."""
    for what, changed, text, replacement, must_fail in MISTAKES:
        report.check(f"refuses {what}", refuses, args, validator, changed, text, replacement, must_fail)


def refuses(args: argparse.Namespace, validator, changed: str, text: str, replacement: str, must_fail: list[str]):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name in SELF_TEST_FILES:
            source, copy = args.root / name, root / name
            copy.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if source.is_dir() else shutil.copy)(source, copy)
        target = root / changed
        original = target.read_text()
        if text not in original:
            raise Problem(f"{changed} no longer contains {text!r}: update MISTAKES in deploy/compose/validate.py")
        target.write_text(original.replace(text, replacement))
        compose_file = changed if changed.startswith("docker-compose") else "docker-compose.cluster.yml"
        quiet = Report(quiet=True)
        reference = load(root / REFERENCE_FILE) if changed != REFERENCE_FILE else None
        check_file(quiet, root / compose_file, argparse.Namespace(**{**vars(args), "root": root}), validator, reference)
    expected = [name for name in must_fail if args.compose or name not in COMPOSE_BINARY_CHECKS]
    missed = [name for name in expected if not any(name in failure for failure in quiet.failures)]
    if missed:
        raise Problem(f"not refused by: {', '.join(missed)} (failed: {', '.join(quiet.failures) or 'nothing'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="compose files (default: those at the repository root)")
    parser.add_argument("--root", type=Path, required=True, help="the repository root (the files' project directory)")
    parser.add_argument(
        "--compose", type=Path, help="the docker-compose binary (without it, steps 2 and 4 are skipped)"
    )
    parser.add_argument("--schema-cache", type=Path, help="where to keep the schema taken from the binary")
    parser.add_argument("--haproxy", help="the haproxy binary")
    args = parser.parse_args()
    args.root = args.root.resolve()

    files = args.files or sorted(args.root.glob("docker-compose.yml")) + sorted(args.root.glob("docker-compose.*.yml"))
    validator = None
    if args.compose:
        schema = embedded_schema(args.compose, args.schema_cache or args.compose.with_name("compose-spec.json"))
        validator = jsonschema.Draft7Validator(schema)
    else:
        print(
            "warning: no docker-compose binary: the schema and `docker-compose config` are not checked", file=sys.stderr
        )
    try:
        reference = load(args.root / REFERENCE_FILE)
    except (OSError, Problem):
        reference = None  # reported with the file itself, when it is checked

    report = Report()
    for path in files:
        check_file(report, path, args, validator, reference)
    if not args.files:
        self_test(report, args, validator)
    print(f"compose: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
