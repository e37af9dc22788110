"""Validates rendered Kubernetes manifests against CRD schemas, for deploy/k8s/check.

Every document of the given files is sorted by its apiVersion:

- a built-in kind (group "", or with no dot, or ending in .k8s.io) is written to --core-out, for
  kubernetes-validate, which knows Kubernetes' own schemas;
- a custom resource is validated against the openAPIV3Schema of its CRD in --crds (the version it names must be
  served), as the API server would with strict field validation: unknown fields are errors unless the schema
  keeps them (x-kubernetes-preserve-unknown-fields), and its metadata is checked as Kubernetes' ObjectMeta;
- anything else (a kind no CRD there defines) is an error, never skipped.

Every Secret a manifest refers to (env, envFrom, volumes, image pull secrets, Ingress TLS, KEDA, the RabbitMQ User,
the MongoDB users) must be in the render, be one the MongoDB operator writes (a user's connectionStringSecretName),
or be named in --provided-secrets (those an operator creates by hand before `kubectl apply`).

With --rabbitmq-definitions and --rabbitmq-conf it also checks that the topology resources say what
deploy/rabbitmq/definitions.json says (same exchanges, queues with the same arguments, bindings; the policies'
bounds equal their queue's) and that max_message_size in the RabbitmqCluster equals rabbitmq.conf's and the
services' AMQP_MAX_MESSAGE_BYTES.

Exit status: 0 when everything passed, 1 when something did not (each problem is printed), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import copy
import importlib.resources
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import jsonschema
import referencing
import yaml

# Where the stub of a trimmed subtree says so (deploy/k8s/crds/README.md).
TRIMMED_MARK = "trimmed in this copy"
OBJECT_META_URI = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def fail_on_trimmed(validator, reason, instance, schema):  # noqa: ARG001 - jsonschema's keyword signature
    yield jsonschema.ValidationError(
        f"this field's schema is trimmed from the repository's copy of the CRD ({reason}); restore it from "
        "upstream (deploy/k8s/crds/README.md) before setting it"
    )


Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-imagepipe-trimmed": fail_on_trimmed}
)


def json_schema(node: Any, *, root: bool = False) -> Any:
    """The JSON Schema (2020-12) that an OpenAPI v3 structural schema of a CRD means for a manifest."""
    if not isinstance(node, dict):
        return node
    description = node.get("description", "")
    if isinstance(description, str) and description.startswith(TRIMMED_MARK):
        return {"x-imagepipe-trimmed": description}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "default", "example", "externalDocs") or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = json_schema(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [json_schema(sub) for sub in value]
        elif key == "nullable":
            continue
        else:
            out[key] = copy.deepcopy(value)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    # The API server drops (with strict field validation, refuses) the fields an object's schema does not name,
    # unless the schema keeps unknown fields or is a map.
    if (
        node.get("type") == "object"
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if root:
        out.setdefault("properties", {})["metadata"] = {"$ref": OBJECT_META_URI}
    return out


@dataclass
class Crd:
    """One version of a CRD: its schema for manifests, and whether the API serves it."""

    source: str
    schema: dict[str, Any]
    served: bool


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


def load_crds(directory: Path) -> dict[tuple[str, str, str], Crd]:
    crds: dict[tuple[str, str, str], Crd] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise SystemExit(f"validate_crs.py: no CRD in {directory}")
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            if doc.get("kind") != "CustomResourceDefinition":
                raise SystemExit(f"validate_crs.py: {path} holds a {doc.get('kind')}, not a CustomResourceDefinition")
            spec = doc["spec"]
            for version in spec["versions"]:
                key = (spec["group"], version["name"], spec["names"]["kind"])
                schema = json_schema(version["schema"]["openAPIV3Schema"], root=True)
                Validator.check_schema(schema)
                crds[key] = Crd(source=path.name, schema=schema, served=bool(version.get("served")))
    return crds


def object_meta_registry(kubernetes_version: str) -> referencing.Registry:
    """Kubernetes' own definitions, as kubernetes-validate ships them, for the custom resources' metadata."""
    base = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    definitions = base / f"v{kubernetes_version}.0-local-strict" / "_definitions.json"
    if not definitions.is_file():
        raise SystemExit(f"validate_crs.py: kubernetes-validate has no schemas for Kubernetes {kubernetes_version}")
    contents = json.loads(definitions.read_text())
    return referencing.Resource.from_contents(contents) @ referencing.Registry()


def is_builtin(group: str) -> bool:
    return group == "" or "." not in group or group.endswith(".k8s.io")


def documents(paths: list[Path]) -> Iterator[tuple[str, int, Any]]:
    for path in paths:
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc is not None:
                yield path.name, index, doc


def describe(doc: dict[str, Any]) -> str:
    name = (doc.get("metadata") or {}).get("name", "?")
    return f"{doc.get('kind', '?')}/{name} ({doc.get('apiVersion', '?')})"


def error_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def validate(
    paths: list[Path], crds: dict[tuple[str, str, str], Crd], registry: referencing.Registry, report: Report
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validates the custom resources; returns (built-in documents, custom resources)."""
    core: list[dict[str, Any]] = []
    custom: list[dict[str, Any]] = []
    validators: dict[tuple[str, str, str], Any] = {}
    for file, index, doc in documents(paths):
        where = f"{file} #{index}"
        if not isinstance(doc, dict) or not isinstance(doc.get("apiVersion"), str) or not doc.get("kind"):
            report.add(where, "not a Kubernetes object (no apiVersion and kind)")
            continue
        where = f"{file}: {describe(doc)}"
        if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
            report.add(where, "no metadata.name")
        group, _, version = doc["apiVersion"].rpartition("/")
        if is_builtin(group):
            core.append(doc)
            continue
        key = (group, version, doc["kind"])
        crd = crds.get(key)
        if crd is None:
            known = sorted(f"{g}/{v}" for (g, v, k) in crds if k == doc["kind"])
            if known:
                report.add(where, f"version not in its CRD copy (has: {', '.join(known)})")
            else:
                report.add(where, "unknown kind: no CRD in deploy/k8s/crds defines it (add its CRD, see README.md there)")
            continue
        if not crd.served:
            report.add(where, f"version {version} is not served (per {crd.source})")
            continue
        if key not in validators:
            validators[key] = Validator(crd.schema, registry=registry)
        errors = sorted(validators[key].iter_errors(doc), key=error_path)
        for error in errors:
            report.add(where, f"{error_path(error)}: {error.message} (per {crd.source})")
        custom.append(doc)
    return core, custom


# ---- imagepipe's own agreements -------------------------------------------------------------------------------


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc.get("kind") == kind]


def check_topology(
    label: str,
    custom: list[dict[str, Any]],
    core: list[dict[str, Any]],
    definitions: dict[str, Any],
    conf: str,
    report: Report,
) -> None:
    """The topology resources and the broker settings against deploy/rabbitmq/."""
    where = f"{label}: RabbitMQ topology"
    exchanges = {doc["spec"]["name"]: doc["spec"] for doc in by_kind(custom, "Exchange")}
    want_exchanges = {e["name"]: e for e in definitions["exchanges"]}
    for name in sorted(set(want_exchanges) | set(exchanges)):
        want, got = want_exchanges.get(name), exchanges.get(name)
        if want is None or got is None:
            report.add(where, f"exchange {name}: in {'the manifests' if got else 'definitions.json'} only")
            continue
        for key, spec_key in (("type", "type"), ("durable", "durable"), ("auto_delete", "autoDelete")):
            if want[key] != got.get(spec_key):
                report.add(where, f"exchange {name}: {spec_key} is {got.get(spec_key)!r}, definitions.json says {want[key]!r}")

    queues = {doc["spec"]["name"]: doc["spec"] for doc in by_kind(custom, "Queue")}
    want_queues = {q["name"]: q for q in definitions["queues"]}
    for name in sorted(set(want_queues) | set(queues)):
        want, got = want_queues.get(name), queues.get(name)
        if want is None or got is None:
            report.add(where, f"queue {name}: in {'the manifests' if got else 'definitions.json'} only")
            continue
        arguments = dict(got.get("arguments") or {})
        if got.get("type"):
            arguments.setdefault("x-queue-type", got["type"])
        for key in sorted(set(arguments) | set(want["arguments"])):
            if arguments.get(key) != want["arguments"].get(key):
                report.add(
                    where,
                    f"queue {name}: argument {key} is {arguments.get(key)!r}, which differs from definitions.json's "
                    f"{want['arguments'].get(key)!r}",
                )
        for key, spec_key in (("durable", "durable"), ("auto_delete", "autoDelete")):
            if want[key] != got.get(spec_key):
                report.add(where, f"queue {name}: {spec_key} is {got.get(spec_key)!r}, definitions.json says {want[key]!r}")

    def binding_key(source: str, destination: str, kind: str, routing_key: str) -> str:
        return f"{source} -> {kind} {destination} ({routing_key})"

    bindings = {
        binding_key(s["source"], s["destination"], s["destinationType"], s.get("routingKey", ""))
        for s in (doc["spec"] for doc in by_kind(custom, "Binding"))
    }
    want_bindings = {
        binding_key(b["source"], b["destination"], b["destination_type"], b["routing_key"])
        for b in definitions["bindings"]
    }
    for binding in sorted(bindings ^ want_bindings):
        report.add(where, f"binding {binding}: in {'the manifests' if binding in bindings else 'definitions.json'} only")

    # A policy bounding one queue must say what that queue's arguments say.
    for doc in by_kind(custom, "Policy"):
        spec = doc["spec"]
        match = re.fullmatch(r"\^(.+)\$", spec["pattern"])
        queue = queues.get(match.group(1).replace("\\.", ".")) if match else None
        if queue is None:
            report.add(where, f"policy {spec['name']}: its pattern {spec['pattern']!r} names none of the queues")
            continue
        for key, value in spec["definition"].items():
            if (queue.get("arguments") or {}).get(f"x-{key}") != value:
                report.add(
                    where,
                    f"policy {spec['name']}: {key} is {value!r}, the queue's x-{key} is "
                    f"{(queue.get('arguments') or {}).get(f'x-{key}')!r}",
                )

    # One message size limit: rabbitmq.conf, the RabbitmqCluster, and what the services refuse to send.
    def max_message_size(text: str) -> str | None:
        found = re.search(r"^\s*max_message_size\s*=\s*(\d+)\s*$", text, re.MULTILINE)
        return found.group(1) if found else None

    sizes = {"deploy/rabbitmq/rabbitmq.conf": max_message_size(conf)}
    for doc in by_kind(custom, "RabbitmqCluster"):
        config = ((doc.get("spec") or {}).get("rabbitmq") or {}).get("additionalConfig", "")
        sizes[f"RabbitmqCluster/{doc['metadata']['name']}"] = max_message_size(config)
    for doc in by_kind(core, "ConfigMap"):
        if "AMQP_MAX_MESSAGE_BYTES" in (doc.get("data") or {}):
            sizes[f"ConfigMap/{doc['metadata']['name']}"] = doc["data"]["AMQP_MAX_MESSAGE_BYTES"]
    if len(set(sizes.values())) != 1 or None in sizes.values():
        report.add(f"{label}: max_message_size", f"must be one number everywhere: {sizes}")


def pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        yield spec
    template = spec.get("template") or (spec.get("jobTemplate") or {}).get("spec", {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        yield template["spec"]


def secret_references(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, Secret name) of every Secret `doc` refers to."""
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    for pod in pod_specs(doc):
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    yield f"container {container.get('name')} env {env.get('name')}", ref.get("name", "")
            for source in container.get("envFrom") or []:
                if "secretRef" in source:
                    yield f"container {container.get('name')} envFrom", source["secretRef"].get("name", "")
        for volume in pod.get("volumes") or []:
            if "secret" in volume:
                yield f"volume {volume.get('name')}", volume["secret"].get("secretName", "")
        for pull in pod.get("imagePullSecrets") or []:
            yield "imagePullSecrets", pull.get("name", "")
    if kind == "Ingress":
        for tls in spec.get("tls") or []:
            yield "tls", tls.get("secretName", "")
    if kind == "TriggerAuthentication":
        for ref in spec.get("secretTargetRef") or []:
            yield f"secretTargetRef {ref.get('parameter')}", ref.get("name", "")
    if kind == "User" and "importCredentialsSecret" in spec:
        yield "importCredentialsSecret", spec["importCredentialsSecret"].get("name", "")
    if kind == "MongoDBCommunity":
        for user in spec.get("users") or []:
            if "passwordSecretRef" in user:
                yield f"user {user.get('name')} passwordSecretRef", user["passwordSecretRef"].get("name", "")


def check_secrets(
    label: str, core: list[dict[str, Any]], custom: list[dict[str, Any]], provided: set[str], report: Report
) -> None:
    rendered = {doc["metadata"]["name"] for doc in by_kind(core, "Secret")}
    written_by_operators = {
        user["connectionStringSecretName"]
        for doc in by_kind(custom, "MongoDBCommunity")
        for user in (doc.get("spec") or {}).get("users") or []
        if user.get("connectionStringSecretName")
    }
    known = rendered | written_by_operators | provided
    for doc in core + custom:
        for where, name in secret_references(doc):
            if name not in known:
                report.add(
                    f"{label}: {describe(doc)}",
                    f"{where} refers to the Secret {name!r}, which the render does not make, no operator writes "
                    "and the overlay does not list as provided",
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crds", type=Path, required=True, help="directory of CRD YAML files")
    parser.add_argument("--core-out", type=Path, required=True, help="where to write the built-in kinds")
    parser.add_argument("--kubernetes-version", default="1.30", help="for ObjectMeta (default 1.30)")
    parser.add_argument("--rabbitmq-definitions", type=Path, help="deploy/rabbitmq/definitions.json")
    parser.add_argument("--rabbitmq-conf", type=Path, help="deploy/rabbitmq/rabbitmq.conf")
    parser.add_argument(
        "--provided-secrets", default="", help="comma-separated Secrets that exist before the render is applied"
    )
    parser.add_argument("manifests", type=Path, nargs="+")
    args = parser.parse_args()

    crds = load_crds(args.crds)
    registry = object_meta_registry(args.kubernetes_version)
    report = Report()
    label = ", ".join(path.name for path in args.manifests)
    try:
        core, custom = validate(args.manifests, crds, registry, report)
    except yaml.YAMLError as error:
        print(f"not YAML: {error}")
        return 1
    if args.rabbitmq_definitions:
        definitions = json.loads(args.rabbitmq_definitions.read_text())
        conf = args.rabbitmq_conf.read_text() if args.rabbitmq_conf else ""
        check_topology(label, custom, core, definitions, conf, report)
    check_secrets(label, core, custom, {name for name in args.provided_secrets.split(",") if name}, report)
    args.core_out.write_text(yaml.safe_dump_all(core, sort_keys=False))

    for problem in report.problems:
        print(f"ERROR {problem}")
    if report.problems:
        return 1
    kinds = sorted({doc["kind"] for doc in custom})
    if custom:
        print(f"{len(custom)} custom resources valid against their CRDs ({', '.join(kinds)})")
    else:
        print("no custom resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
