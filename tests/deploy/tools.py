"""The tools that check the Helm chart without a cluster, built or fetched once per machine.

Everything comes from a package registry and is kept under `MEDSHARE_CACHE` (default
`~/.cache/medshare`), each tool in its own directory marked complete by a stamp written
last, like the local servers' tools:

* helm: built from its Go module (`go install`), with its own module and build caches;
* the Kubernetes JSON schemas: the `kubernetes-validate` package from PyPI, in its own
  virtualenv (it brings jsonschema, which medshare itself does not need);
* KEDA's CRDs: read from the `github.com/kedacore/keda/v2` module zip (`go mod download`);
* Strimzi's CRDs: Strimzi publishes them in no registry package (its Maven `api` jar has
  the model classes only), so KafkaTopic and KafkaUser are vendored in `crds/`.

`python -m tests.deploy.tools` installs them all and prints where they are.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from medshare_infra import cache as medshare_cache
from medshare_infra.cache import ToolInstallError, python_tool, run_step

HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
HELM_VERSION = "v3.22.0"
KEDA_MODULE = "github.com/kedacore/keda/v2"
KEDA_VERSION = "v2.20.2"
KEDA_CRDS = ("keda.sh_scaledobjects.yaml", "keda.sh_triggerauthentications.yaml")
KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion): schemas of that version.
KUBERNETES_VERSION = "1.30.0"

HERE = Path(__file__).resolve().parent
VENDORED_CRDS = HERE / "crds"


def cache_dir() -> Path:
    path = medshare_cache.cache_dir() / "k8s"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _go_env(root: Path) -> dict[str, str]:
    # Own caches under MEDSHARE_CACHE: a fresh machine builds once, and nothing lands in ~/go.
    return {
        "GOMODCACHE": str(root / "gomod"),
        "GOCACHE": str(root / "gobuild"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
        "CGO_ENABLED": "0",
    }


def _go() -> str:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise ToolInstallError("Go is needed once to build helm from its module")
    return go


def helm() -> Path:
    """The helm binary, built from the Go module proxy on first use (a few minutes)."""
    root = cache_dir()
    target = root / f"helm-{HELM_VERSION}"
    binary = target / "helm"
    stamp = target / ".complete"
    if stamp.exists() and binary.exists():
        return binary
    target.mkdir(parents=True, exist_ok=True)
    run_step(
        [_go(), "install", "-trimpath", "-ldflags=-s -w", f"{HELM_MODULE}@{HELM_VERSION}"],
        f"building helm {HELM_VERSION} from its Go module",
        env={**_go_env(root), "GOBIN": str(target)},
    )
    # The binary is all that is kept: the build and module caches are about 1 GiB.
    run_step([_go(), "clean", "-cache", "-modcache"], "cleaning Go's caches", env=_go_env(root))
    stamp.write_text(HELM_VERSION)
    return binary


def validator_python() -> Path:
    """A Python with kubernetes-validate (Kubernetes JSON schemas) and jsonschema."""
    return python_tool("k8s-validate", KUBERNETES_VALIDATE, "python")


def keda_crds() -> Path:
    """KEDA's CRD manifests, taken from its Go module zip."""
    root = cache_dir()
    target = root / f"keda-crds-{KEDA_VERSION}"
    stamp = target / ".complete"
    if stamp.exists():
        return target
    output = run_step(
        [_go(), "mod", "download", "-json", f"{KEDA_MODULE}@{KEDA_VERSION}"],
        f"downloading the {KEDA_MODULE} module",
        env=_go_env(root),
    )
    archive = json.loads(output)["Zip"]
    target.mkdir(parents=True, exist_ok=True)
    prefix = f"{KEDA_MODULE}@{KEDA_VERSION}/config/crd/bases/"
    with zipfile.ZipFile(archive) as bundle:
        for name in KEDA_CRDS:
            (target / name).write_bytes(bundle.read(prefix + name))
    stamp.write_text(KEDA_VERSION)
    return target


def crd_files() -> list[Path]:
    """Every CRD the chart's custom resources are checked against."""
    return sorted(keda_crds().glob("*.yaml")) + sorted(VENDORED_CRDS.glob("*/*.yaml"))


def install_all() -> dict[str, str]:
    return {
        "helm": str(helm()),
        "validator": str(validator_python()),
        "crds": " ".join(str(path) for path in crd_files()),
    }


if __name__ == "__main__":
    for tool, where in install_all().items():
        print(f"{tool}: {where}")
