"""Validate rendered manifests against the Kubernetes schemas and CRD schemas.

Runs in the validator's own virtualenv (kubernetes-validate, jsonschema):
    python validate_manifests.py KUBERNETES_VERSION RENDERED.yaml CRD.yaml...
Prints one JSON object: {"checked": [kind/name...], "errors": ["kind/name: path: message"...]}.

Built-in kinds use kubernetes-validate's strict schemas (an unknown field is an error).
Custom resources use the openAPIV3Schema of the matching CRD version, made strict the
way kubeconform does it: an object that lists its properties and does not preserve
unknown fields takes no other field.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import jsonschema
import kubernetes_validate
import yaml


def strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def crd_schemas(paths: list[str]) -> dict[tuple[str, str], Any]:
    schemas: dict[tuple[str, str], Any] = {}
    for path in paths:
        with open(path) as handle:
            for crd in yaml.safe_load_all(handle):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group = crd["spec"]["group"]
                kind = crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if not version.get("served", True):
                        continue
                    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                    # metadata is checked by the API server's own rules; the CRD leaves it open.
                    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
                    schema.setdefault("required", [])
                    schemas[(f"{group}/{version['name']}", kind)] = strict(schema)
    return schemas


def main(argv: list[str]) -> int:
    version, rendered, *crd_paths = argv
    crds = crd_schemas(crd_paths)
    checked: list[str] = []
    errors: list[str] = []
    with open(rendered) as handle:
        documents = [doc for doc in yaml.safe_load_all(handle) if doc]
    for doc in documents:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        checked.append(name)
        key = (doc.get("apiVersion", ""), doc.get("kind", ""))
        if key in crds:
            validator = jsonschema.Draft7Validator(crds[key])
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                path = ".".join(str(part) for part in error.path)
                errors.append(f"{name}: {path}: {error.message}")
            continue
        # Anything else must have a built-in schema: an unknown kind is an error, not a pass.
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            errors.append(f"{name}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{name}: {error.message}")
    print(json.dumps({"checked": checked, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
