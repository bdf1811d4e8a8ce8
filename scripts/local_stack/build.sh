#!/usr/bin/env bash
# Build the local stack's control-plane binaries from the Go module proxy (no git, no GitHub):
#   kube-apiserver, kube-controller-manager, kubectl  -> <cache>/bin/kubernetes-<v>/
#   etcd, etcdctl                                      -> <cache>/bin/etcd-<v>/
#   eksctl                                             -> <cache>/bin/eksctl-<v>/
#   source-controller, kustomize-controller (Flux v2)  -> <cache>/bin/<controller>-<v>/{<controller>,crds/}
#   external-secrets (External Secrets Operator)       -> <cache>/bin/external-secrets-<v>/{external-secrets,crds/}
#   kube-scheduler (same wrapper module as Kubernetes)  -> <cache>/bin/kubernetes-<v>/kube-scheduler
#   helm-controller (Flux v2)                          -> <cache>/bin/helm-controller-<v>/{helm-controller,crds/}
#   notification-controller (Flux v2; not run by `up`) -> <cache>/bin/notification-controller-<v>/{...,crds/}
#   kwok (simulated kubelets) + its stage definitions  -> <cache>/bin/kwok-<v>/{kwok,stages.yaml}
#   helm (the CLI, in helm-controller's module copy)  -> <cache>/bin/helm-<v>/helm
#   (`gitops` builds those three, then the Flux components mirror; `local` = all but eksctl, what `up` needs)
#   Flux v2 components mirror (install.yaml + .sha256, offline) -> <cache>/mirror/flux2/<release>/ (flux_mirror.py)
# Wrapper-module recipe: an empty module requires k8s.io/kubernetes vX.Y.Z and replaces every
# `k8s.io/<m> => ./staging/src/k8s.io/<m>` of that release's go.mod with `k8s.io/<m> v0.Y.Z`.
# Idempotent: a component whose binaries are present is not rebuilt (FORCE=1 rebuilds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
CACHE=${TIDEPOOL_EKS_CACHE:-$HOME/.cache/tidepool-eks}
GO=${GO:-go}
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=${GOTOOLCHAIN:-local}
log() { echo "local-stack build: $*" >&2; }
# The module proxy is the Go toolchain's own setting (GOPROXY, else `go env GOPROXY`); none is written here.
if [ -z "${GOPROXY:-}" ] && command -v "$GO" >/dev/null; then GOPROXY=$("$GO" env GOPROXY); fi
export GOPROXY

# `go build -v` of many packages, printed as one progress line a minute (count/total, elapsed) instead of
# ten silent minutes or thousands of package names. Usage (in the module's directory):
#   go_build_progress <label> <output dir/> <ldflags> <package>...
go_build_progress() {
  local label=$1 outdir=$2 ldflags=$3; shift 3
  local total; total=$("$GO" list -deps "$@" 2>/dev/null | wc -l || echo "?")
  log "$label: compiling about $total packages"
  local n=0 last=$SECONDS start=$SECONDS line
  "$GO" build -v -trimpath -ldflags "$ldflags" -o "$outdir" "$@" 2>&1 | while IFS= read -r line; do
    case "$line" in
      "#"*|"go: "*|*.go:[0-9]*) echo "$line" >&2 ;;   # errors and warnings pass through
      *) n=$((n + 1))
         if [ $((SECONDS - last)) -ge 60 ]; then
           last=$SECONDS
           log "$label: $n/$total packages compiled, $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s"
         fi ;;
    esac
  done
  return "${PIPESTATUS[0]}"
}

# A Go >= the toolchain of versions.env: the machine's, or one fetched from the module proxy once.
ensure_go() {
  local want=${GO_TOOLCHAIN_VERSION#go} have=""
  if command -v "$GO" >/dev/null; then have=$("$GO" env GOVERSION 2>/dev/null | sed 's/^go//'); fi
  if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "${want%.*}.0" "$have" | sort -V | head -1)" = "${want%.*}.0" ]; then
    return 0
  fi
  local arch
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  local dir="$CACHE/bin/$GO_TOOLCHAIN_VERSION.linux-$arch"
  if [ ! -x "$dir/bin/go" ]; then
    local proxy=${GOPROXY%%,*}
    if [ -z "$proxy" ] || [ "$proxy" = direct ] || [ "$proxy" = off ]; then
      log "Go ${have:-not found} and no module proxy configured: set GOPROXY to your Go module proxy, or install Go >= ${want%.*}"
      exit 1
    fi
    local url="$proxy/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN_VERSION.linux-$arch.zip"
    log "Go ${have:-not found}; fetching $GO_TOOLCHAIN_VERSION from the module proxy ($url)"
    mkdir -p "$CACHE/bin"
    local tmp; tmp=$(mktemp -d "$CACHE/bin/.go-XXXXXX")
    python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$url" "$tmp/go.zip"
    python3 - "$tmp/go.zip" "$tmp/go" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    for info in z.infolist():
        # entries are golang.org/toolchain@v0.0.1-goX.Y.Z.os-arch/<file>
        parts = info.filename.split("/", 2)
        rel = parts[2] if len(parts) == 3 else ""
        if not rel or info.is_dir():
            continue
        path = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(info) as f, open(path, "wb") as out:
            out.write(f.read())
        mode = (info.external_attr >> 16) & 0o777
        os.chmod(path, mode or (0o755 if "/bin/" in "/" + rel or "/pkg/tool/" in "/" + rel else 0o644))
PY
    rm -rf "$dir" && mv "$tmp/go" "$dir" && rm -rf "$tmp"
  fi
  GO="$dir/bin/go"
  log "using $("$GO" version)"
}

# `already_built LABEL DIR FILE...`: true (and says so) unless FORCE is set or a FILE of DIR is not executable.
already_built() {
  local label=$1 dir=$2 f
  shift 2
  [ -z "${FORCE:-}" ] || return 1
  for f in "$@"; do [ -x "$dir/$f" ] || return 1; done
  log "$label already in $dir"
}
# Reproducible stamps: no clock in the binaries.
BUILD_DATE=${BUILD_DATE:-1970-01-01T00:00:00Z}

# The wrapper module (<cache>/build/kubernetes-<v>/go.mod): requires k8s.io/kubernetes <v> and replaces every
# staging module with its published v0.Y.Z tag, generated from that release's own go.mod. Written when missing.
kubernetes_wrapper() {
  local v=$KUBERNETES_VERSION w="$CACHE/build/kubernetes-$KUBERNETES_VERSION"
  local staging=v0.${v#v1.}
  [ -z "${FORCE:-}" ] && [ -s "$w/go.mod" ] && grep -qE "^(require)?[[:space:]]*k8s.io/kubernetes $v\$" "$w/go.mod" && return 0
  log "kubernetes $v: reading its go.mod from the module proxy"
  mkdir -p "$w"
  local gomod
  if ! gomod=$(cd "$w" && "$GO" mod download -json "k8s.io/kubernetes@$v" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["GoMod"])'); then
    log "FAILED: kubernetes $v: cannot download k8s.io/kubernetes@$v from $GOPROXY"; return 1
  fi
  local godirective
  godirective=$(awk '$1=="go"{print $2; exit}' "$gomod")
  {
    echo "// Generated by scripts/local_stack/build.sh from k8s.io/kubernetes@$v's go.mod. Not committed."
    echo "module tidepool.local/k8s-wrapper"
    echo
    echo "go $godirective"
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    echo "replace ("
    grep -E '=> \./staging/src/' "$gomod" | awk -v s="$staging" '{print "\t" $1 " => " $1 " " s}'
    echo ")"
  } > "$w/go.mod"
  log "kubernetes $v: $(grep -c ' => ' "$w/go.mod") staging replaces"
}

# -X flags so that /version and `kubectl version` report the real version.
kubernetes_ldflags() {
  local v=$KUBERNETES_VERSION minor X="" p
  minor=${v#v1.}; minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    X="$X -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$BUILD_DATE"
  done
  echo "-s -w$X"
}

build_kubernetes() {
  local v=$KUBERNETES_VERSION out="$CACHE/bin/kubernetes-$KUBERNETES_VERSION" w="$CACHE/build/kubernetes-$KUBERNETES_VERSION"
  already_built "kubernetes $v" "$out" kube-apiserver kube-controller-manager kubectl && return 0
  ensure_go
  local t0=$SECONDS
  mkdir -p "$out"
  kubernetes_wrapper
  log "kubernetes $v: resolving modules"
  (cd "$w" && "$GO" get "k8s.io/kubernetes/cmd/kube-apiserver@$v" "k8s.io/kubernetes/cmd/kube-controller-manager@$v" "k8s.io/kubernetes/cmd/kubectl@$v")
  log "kubernetes $v: compiling kube-apiserver kube-controller-manager kubectl (slow: 10-30 min cold on 2 cores)"
  (cd "$w" && go_build_progress "kubernetes $v" "$out/.tmp/" "$(kubernetes_ldflags)" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  mv "$out/.tmp/"* "$out/" && rmdir "$out/.tmp"
  echo "$v" > "$out/VERSION"
  log "kubernetes $v: done in $((SECONDS - t0)) s (download and compile) -> $out"
}

# kube-scheduler: its own step in the same wrapper module (an existing kube-apiserver etc. is not rebuilt). It binds
# the pods of the simulated nodes (kwok); about 3 min with the Kubernetes build cache warm.
build_kube_scheduler() {
  local v=$KUBERNETES_VERSION out="$CACHE/bin/kubernetes-$KUBERNETES_VERSION" w="$CACHE/build/kubernetes-$KUBERNETES_VERSION"
  already_built "kube-scheduler $v" "$out" kube-scheduler && return 0
  ensure_go
  local t0=$SECONDS
  mkdir -p "$out"
  kubernetes_wrapper
  log "kube-scheduler $v: resolving k8s.io/kubernetes/cmd/kube-scheduler@$v"
  if ! (cd "$w" && "$GO" get "k8s.io/kubernetes/cmd/kube-scheduler@$v"); then
    log "FAILED: kube-scheduler $v: cannot resolve k8s.io/kubernetes/cmd/kube-scheduler@$v from $GOPROXY"; return 1
  fi
  rm -rf "$out/.tmp-scheduler" && mkdir -p "$out/.tmp-scheduler"
  if ! (cd "$w" && go_build_progress "kube-scheduler $v" "$out/.tmp-scheduler/" "$(kubernetes_ldflags)" \
      k8s.io/kubernetes/cmd/kube-scheduler); then
    log "FAILED: kube-scheduler $v: building k8s.io/kubernetes/cmd/kube-scheduler failed; see the compiler output above"
    return 1
  fi
  mv "$out/.tmp-scheduler/kube-scheduler" "$out/kube-scheduler" && rmdir "$out/.tmp-scheduler"
  log "kube-scheduler $v: done in $((SECONDS - t0)) s -> $out/kube-scheduler"
}

build_etcd() {
  local v=$ETCD_VERSION out="$CACHE/bin/etcd-$ETCD_VERSION" w="$CACHE/build/etcd-$ETCD_VERSION"
  already_built "etcd $v" "$out" etcd etcdctl && return 0
  ensure_go
  local t0=$SECONDS
  mkdir -p "$w" "$out"
  # etcd's server/go.mod replaces its sibling modules with ../ paths, but also requires their real tags
  # at the same version, so a wrapper needs no replaces at all.
  printf '// Generated by scripts/local_stack/build.sh. Not committed.\nmodule tidepool.local/etcd-wrapper\n\ngo 1.26.0\n' > "$w/go.mod"
  (cd "$w" && "$GO" get "go.etcd.io/etcd/server/v3@$v" "go.etcd.io/etcd/etcdctl/v3@$v")
  log "etcd $v: compiling etcd etcdctl"
  (cd "$w" && "$GO" build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$v" -o "$out/.tmp/" \
      go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3)
  mv "$out/.tmp/server" "$out/etcd"  # Go names the binary of .../server/v3 "server"
  for f in "$out/.tmp/"*; do [ -e "$f" ] && mv "$f" "$out/"; done
  rmdir "$out/.tmp"
  echo "$v" > "$out/VERSION"
  log "etcd $v: done in $((SECONDS - t0)) s (download and compile) -> $out"
}

# The directory of <module>@<version> in the Go module cache, downloaded from the proxy when missing
# (`go mod download -json`); exits non-zero with the proxy's error when it is refused.
module_dir() {
  (cd "$CACHE/build" && GOFLAGS=-mod=mod "$GO" mod download -json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["Dir"])')
}

# A writable copy of a downloaded module directory: copy_module <module dir> <build dir> (replaced).
copy_module() {
  rm -rf "$2" && mkdir -p "$2"
  cp -R "$1/." "$2/" && chmod -R u+w "$2"
}

# eksctl: a copy-module build. The release's own go.mod is the build's go.mod (its replaces included),
# so the module is downloaded with `go mod download -json`, its directory copied to a writable build
# directory and built there. v0.230.0's go.mod carries a typo'd replace
# (`k8s.io/cluster-bootstrap => k8s.io/cluster-bootstrapv ...`, a module that does not exist); it is dropped.
build_eksctl() {
  local v=$EKSCTL_VERSION out="$CACHE/bin/eksctl-$EKSCTL_VERSION" w="$CACHE/build/eksctl-$EKSCTL_VERSION"
  already_built "eksctl $v" "$out" eksctl && return 0
  ensure_go
  mkdir -p "$CACHE/build" "$out"
  log "eksctl $v: downloading github.com/weaveworks/eksctl@$v from the module proxy"
  local dir
  dir=$(module_dir "github.com/weaveworks/eksctl@$v")
  copy_module "$dir" "$w"
  sed -i.orig -E '/k8s\.io\/cluster-bootstrap[[:space:]]+=>[[:space:]]+k8s\.io\/cluster-bootstrapv[[:space:]]/d' "$w/go.mod"
  if ! cmp -s "$w/go.mod" "$w/go.mod.orig"; then log "eksctl $v: dropped the typo'd cluster-bootstrapv replace"; fi
  log "eksctl $v: compiling ./cmd/eksctl (slow: ~13 min on 2 busy cores)"
  local t0=$SECONDS
  (cd "$w" && GOFLAGS="${GOFLAGS:-} -mod=mod" go_build_progress "eksctl $v" "$out/.tmp/" \
      "-s -w -X github.com/weaveworks/eksctl/pkg/version.PreReleaseID= -X github.com/weaveworks/eksctl/pkg/version.gitCommit=$v -X github.com/weaveworks/eksctl/pkg/version.buildDate=$BUILD_DATE" \
      ./cmd/eksctl)
  mv "$out/.tmp/eksctl" "$out/eksctl" && rmdir "$out/.tmp"
  echo "$v" > "$out/VERSION"
  log "eksctl $v: done in $((SECONDS - t0)) s -> $out/eksctl"
}

# A prepared, writable copy of a Go module: download it with `go mod download -json`, copy its directory to
# <cache>/build/<component>-<version>/, apply the go.mod edits given (each a `go mod edit` argument), `go mod tidy` when
# asked, then run a prepare function in it when given. Reused while its stamp (.tidepool-prepared: what was asked)
# matches and FORCE is unset, so helm and kwok can build in helm-controller's copy without copying it again. Usage:
#   prepare_copy_module <component> <module> <version> [--tidy] [--prepare=<function>] [<binary>:<package>...] \
#     -- [go mod edit args...]
# (targets are accepted and ignored, so build_copy_module can pass its arguments through). Prints nothing on stdout;
# a failure names the module and returns non-zero.
prepare_copy_module() {
  local comp=$1 mod=$2 v=$3; shift 3
  local edits=() tidy="" prepare=""
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case "$1" in --tidy) tidy=1 ;; --prepare=*) prepare=${1#--prepare=} ;; esac
    shift
  done
  [ "${1:-}" = "--" ] && shift
  edits=("$@")
  local w="$CACHE/build/$comp-$v" stamp
  stamp="$mod@$v tidy=$tidy prepare=$prepare${prepare:+($("$prepare" --describe))} edits=${edits[*]}"
  if [ -z "${FORCE:-}" ] && [ -f "$w/.tidepool-prepared" ] && [ "$(cat "$w/.tidepool-prepared")" = "$stamp" ]; then
    return 0
  fi
  ensure_go
  mkdir -p "$CACHE/build"
  log "$comp $v: downloading $mod@$v from the module proxy"
  local dir
  if ! dir=$(module_dir "$mod@$v"); then
    log "FAILED: $comp $v: cannot download the module $mod@$v from $GOPROXY"; return 1
  fi
  copy_module "$dir" "$w"
  if [ ${#edits[@]} -gt 0 ]; then
    log "$comp $v: go mod edit ${edits[*]}"
    (cd "$w" && "$GO" mod edit "${edits[@]}")
  fi
  if [ -n "$tidy" ]; then
    log "$comp $v: go mod tidy"
    if ! (cd "$w" && GOFLAGS=-mod=mod "$GO" mod tidy); then
      log "FAILED: $comp $v: go mod tidy of $mod@$v (after: go mod edit ${edits[*]}) failed; see the output above"; return 1
    fi
  fi
  if [ -n "$prepare" ] && ! (cd "$w" && "$prepare"); then
    log "FAILED: $comp $v: preparing the copy of $mod@$v ($prepare) failed; see above"; return 1
  fi
  echo "$stamp" > "$w/.tidepool-prepared"
}

# Copy-module build of a Go module whose main package(s) are in the module itself: prepare_copy_module, then build
# there. Usage:
#   build_copy_module <component> <module> <version> [--tidy] [--prepare=<function>] <binary>:<package> [...] \
#     -- [go mod edit args...]
# --tidy runs `go mod tidy` after the edits (needed when an edit changes a dependency's version: go.sum lacks it).
# Binaries land in <cache>/bin/<component>-<version>/; a failure names the module and exits non-zero.
build_copy_module() {
  local comp=$1 mod=$2 v=$3
  local args=("$@") targets=() a
  for a in "${args[@]:3}"; do
    [ "$a" = "--" ] && break
    case "$a" in --tidy|--prepare=*) ;; *) targets+=("$a") ;; esac
  done
  local out="$CACHE/bin/$comp-$v" w="$CACHE/build/$comp-$v" t binaries=()
  for t in "${targets[@]}"; do binaries+=("${t%%:*}"); done
  already_built "$comp $v" "$out" "${binaries[@]}" && return 0
  ensure_go
  local t0=$SECONDS
  mkdir -p "$out"
  prepare_copy_module "${args[@]}" || return 1
  local pkgs=()
  for t in "${targets[@]}"; do pkgs+=("${t#*:}"); done
  log "$comp $v: compiling ${pkgs[*]} (about 5 min cold on 2 cores)"
  rm -rf "$out/.tmp" && mkdir -p "$out/.tmp"
  for t in "${targets[@]}"; do
    if ! (cd "$w" && GOFLAGS="${GOFLAGS:-} -mod=mod" go_build_progress "$comp $v" "$out/.tmp/${t%%:*}" "-s -w" "${t#*:}"); then
      log "FAILED: $comp $v: building $mod@$v (${t#*:}) failed; see the compiler output above"; return 1
    fi
  done
  mv "$out/.tmp/"* "$out/" && rmdir "$out/.tmp"
  # The CRDs `up` installs travel with the binary (the module's config/ tree).
  local crd
  for crd in config/crd/bases config/crds/bases; do
    if [ -d "$w/$crd" ]; then rm -rf "$out/crds" && mkdir -p "$out/crds" && cp "$w/$crd/"*.yaml "$out/crds/"; fi
  done
  echo "$v" > "$out/VERSION"
  log "$comp $v: done in $((SECONDS - t0)) s (download and compile) -> $out"
}

build_source_controller() {
  local v=$SOURCE_CONTROLLER_VERSION
  build_copy_module source-controller github.com/fluxcd/source-controller "$v" source-controller:. -- \
    -dropreplace=github.com/fluxcd/source-controller/api -require="github.com/fluxcd/source-controller/api@$v" \
    -replace="github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@$SOURCE_CONTROLLER_ARTIFACT_PKG"
}

build_kustomize_controller() {
  local v=$KUSTOMIZE_CONTROLLER_VERSION
  build_copy_module kustomize-controller github.com/fluxcd/kustomize-controller "$v" kustomize-controller:. -- \
    -dropreplace=github.com/fluxcd/kustomize-controller/api -require="github.com/fluxcd/kustomize-controller/api@$v"
}

# External Secrets Operator: a copy-module build of the root main.go, with only EXTERNAL_SECRETS_PROVIDERS and
# EXTERNAL_SECRETS_GENERATORS registered (eso_register). ESO v0.16.2 compiles every provider's cloud SDK into its one
# binary (233 s cold on 2 cores; 103 s with the AWS provider only); later releases select them with build tags
# (`-tags aws`), but those keep the providers in nested modules the module proxy does not serve. The binary's stamp
# (REGISTERED) names what it registers; a binary built with other lists is rebuilt.
build_external_secrets() {
  local v=$EXTERNAL_SECRETS_VERSION out="$CACHE/bin/external-secrets-$EXTERNAL_SECRETS_VERSION" want
  want=$(eso_register --describe)
  if [ -x "$out/external-secrets" ] && [ "$(cat "$out/REGISTERED" 2>/dev/null)" != "$want" ]; then
    log "external-secrets $v: the binary in $out registers other providers than '$want'; rebuilding"
    rm -f "$out/external-secrets"
  fi
  build_copy_module external-secrets github.com/external-secrets/external-secrets "$v" --prepare=eso_register \
    external-secrets:. || return 1
  echo "$want" > "$out/REGISTERED"
}

# Run in the copy of ESO's module: rewrite pkg/provider/register/register.go and pkg/generator/register/register.go
# (ESO's lists of blank imports, one per provider / generator) to import only those named in versions.env.
# `eso_register --describe` prints what it registers (for the stamps). A name that is not a package of the module fails.
eso_register() {
  if [ "${1:-}" = --describe ]; then
    echo "providers: $EXTERNAL_SECRETS_PROVIDERS; generators: $EXTERNAL_SECRETS_GENERATORS"; return 0
  fi
  local kind names n f
  for kind in provider generator; do
    if [ "$kind" = provider ]; then names=$EXTERNAL_SECRETS_PROVIDERS; else names=$EXTERNAL_SECRETS_GENERATORS; fi
    f="pkg/$kind/register/register.go"
    [ -f "$f" ] || { log "FAILED: external-secrets: $f not in the module (ESO's registry moved?)"; return 1; }
    {
      echo "// Rewritten by scripts/local_stack/build.sh (eso_register): only the ${kind}s the local stack uses."
      echo
      echo "package register"
      echo
      echo "import ("
      for n in $names; do
        [ -d "pkg/$kind/$n" ] || { log "FAILED: external-secrets: no $kind '$n' (pkg/$kind/$n) in the module"; return 1; }
        echo "	_ \"github.com/external-secrets/external-secrets/pkg/$kind/$n\""
      done
      echo ")"
    } > "$f.new" || return 1
    mv "$f.new" "$f"
  done
  log "external-secrets: registered $(eso_register --describe)"
}

# helm-controller (Flux 2.9's, HELM_CONTROLLER_VERSION): as the other Flux controllers, its ./api replace is dropped
# for the published .../api of the same version; its go.mod also replaces helm.sh/helm/v4 with Flux's fork
# (github.com/fluxcd/helm/v4 v4.2.4-flux.1), which the proxy refuses: that replace is dropped and upstream helm of
# HELM_CONTROLLER_HELM_SDK required instead; `go mod tidy` then fills go.sum for it.
build_helm_controller() {
  build_copy_module "${HELM_CONTROLLER_MODULE[@]}"
}
# Its copy-module arguments; helm and kwok build in the same prepared copy (prepare_copy_module) to share its packages.
HELM_CONTROLLER_MODULE=(helm-controller github.com/fluxcd/helm-controller "$HELM_CONTROLLER_VERSION" --tidy helm-controller:. --
  -dropreplace=github.com/fluxcd/helm-controller/api -require="github.com/fluxcd/helm-controller/api@$HELM_CONTROLLER_VERSION"
  -dropreplace=helm.sh/helm/v4 -require="helm.sh/helm/v4@$HELM_CONTROLLER_HELM_SDK")
HELM_CONTROLLER_DIR="$CACHE/build/helm-controller-$HELM_CONTROLLER_VERSION"

# notification-controller (Flux 2.9's): the same recipe (./api replace dropped, go mod tidy). Built on request only
# (`build notification-controller`): `up` does not run it yet.
build_notification_controller() {
  local v=$NOTIFICATION_CONTROLLER_VERSION
  build_copy_module notification-controller github.com/fluxcd/notification-controller "$v" --tidy \
    notification-controller:. -- \
    -dropreplace=github.com/fluxcd/notification-controller/api -require="github.com/fluxcd/notification-controller/api@$v"
}

# kwok: plays the kubelet of the stack's simulated Nodes (those annotated kwok.x-k8s.io/node=fake). ./cmd/kwok of a copy
# of sigs.k8s.io/kwok (no go.mod edit), built in a Go workspace with helm-controller's copy (<cache>/build/kwok-<v>-workspace/
# go.work): its Kubernetes libraries then resolve to the versions helm-controller compiled (k8s.io/* v0.36.1 -> v0.36.2,
# a patch release), so it reuses them: 14 s instead of 68 s cold. It needs stage definitions (node/fast: a Node turns
# Ready; node/heartbeat: it stays so; pod/fast: a pod on it turns Running): the module's kustomize/stage YAML,
# concatenated into stages.yaml.
build_kwok() {
  local v=$KWOK_VERSION out="$CACHE/bin/kwok-$KWOK_VERSION" w="$CACHE/build/kwok-$KWOK_VERSION"
  local ws="$CACHE/build/kwok-$KWOK_VERSION-workspace"
  if [ -n "${FORCE:-}" ] || [ ! -x "$out/kwok" ]; then
    ensure_go
    local t0=$SECONDS
    prepare_copy_module kwok sigs.k8s.io/kwok "$v" || return 1
    prepare_copy_module "${HELM_CONTROLLER_MODULE[@]}" || return 1
    rm -rf "$ws" && mkdir -p "$ws" "$out"
    (cd "$ws" && "$GO" work init "$w" "$HELM_CONTROLLER_DIR") || { log "FAILED: kwok $v: go work init"; return 1; }
    rm -rf "$out/.tmp" && mkdir -p "$out/.tmp"
    # workspace mode allows only -mod=readonly: go.sum of the two modules already has every version MVS picks
    if ! (cd "$w" && GOWORK="$ws/go.work" go_build_progress "kwok $v" "$out/.tmp/kwok" "-s -w" ./cmd/kwok); then
      log "FAILED: kwok $v: building sigs.k8s.io/kwok@$v (./cmd/kwok, workspace $ws/go.work) failed; see the compiler output above"
      return 1
    fi
    mv "$out/.tmp/kwok" "$out/kwok" && rmdir "$out/.tmp"
    echo "$v" > "$out/VERSION"
    log "kwok $v: done in $((SECONDS - t0)) s (download and compile) -> $out"
  else
    log "kwok $v already in $out"
  fi
  if [ -z "${FORCE:-}" ] && [ -s "$out/stages.yaml" ]; then return 0; fi
  local src=$w
  if [ ! -d "$src/kustomize/stage" ]; then
    ensure_go
    src=$(module_dir "sigs.k8s.io/kwok@$v") \
      || { log "FAILED: kwok $v: cannot download sigs.k8s.io/kwok@$v for its stage definitions"; return 1; }
  fi
  local d f n=0
  : > "$out/.stages.tmp"
  for d in node/fast node/heartbeat pod/fast; do
    if [ ! -d "$src/kustomize/stage/$d" ]; then
      log "FAILED: kwok $v: kustomize/stage/$d missing in sigs.k8s.io/kwok@$v"; rm -f "$out/.stages.tmp"; return 1
    fi
    for f in "$src/kustomize/stage/$d/"*.yaml; do
      [ "$(basename "$f")" = kustomization.yaml ] && continue
      { echo "---"; echo "# kustomize/stage/$d/$(basename "$f") of sigs.k8s.io/kwok@$v"; cat "$f"; } >> "$out/.stages.tmp"
      n=$((n + 1))
    done
  done
  mv "$out/.stages.tmp" "$out/stages.yaml"
  log "kwok $v: $n stage definitions -> $out/stages.yaml"
}

# helm (the CLI): `helm template` renders the pinned chart copies in tests (the Tidepool chart's secrets contract),
# packages them for the stack's chart repository, and reads the release records helm-controller writes. It is the SDK
# version helm-controller is built with (HELM_VERSION = HELM_CONTROLLER_HELM_SDK), built in helm-controller's prepared
# module copy so the packages they share are compiled once. The version string is set with -X as helm's own Makefile
# does (otherwise `helm version` prints only "v4.2").
build_helm() {
  local v=$HELM_VERSION out="$CACHE/bin/helm-$HELM_VERSION"
  already_built "helm $v" "$out" helm && return 0
  if [ "$HELM_VERSION" != "$HELM_CONTROLLER_HELM_SDK" ]; then
    log "FAILED: helm $v: HELM_VERSION must equal HELM_CONTROLLER_HELM_SDK ($HELM_CONTROLLER_HELM_SDK) in versions.env: the CLI is built in helm-controller's module"
    return 1
  fi
  ensure_go
  local t0=$SECONDS
  prepare_copy_module "${HELM_CONTROLLER_MODULE[@]}" || return 1
  mkdir -p "$out"
  rm -rf "$out/.tmp" && mkdir -p "$out/.tmp"
  if ! (cd "$HELM_CONTROLLER_DIR" && GOFLAGS="${GOFLAGS:-} -mod=mod" go_build_progress "helm $v" "$out/.tmp/helm" \
          "-s -w -X helm.sh/helm/v4/internal/version.version=$v" helm.sh/helm/v4/cmd/helm); then
    log "FAILED: helm $v: building helm.sh/helm/v4/cmd/helm in $HELM_CONTROLLER_DIR failed; see the compiler output above"
    return 1
  fi
  mv "$out/.tmp/helm" "$out/helm" && rmdir "$out/.tmp"
  echo "$v" > "$out/VERSION"
  log "helm $v: done in $((SECONDS - t0)) s -> $out/helm"
}

# The flux CLI of FLUX_VERSION (the release of the stack's controllers and of the rendered components), for
# `flux get all -A`, `flux reconcile`, `flux events` against the stack. Copy-module build of
# github.com/fluxcd/flux2/v2 ./cmd/flux; its go:embed cmd/flux/manifests/ (generated at release time, not in the module
# zip) is written from the offline assembly of the same release (flux_cli.py). The version is set with -X as the
# release does (otherwise `flux version --client` prints 0.0.0-dev.0).
build_flux_cli() {
  local v=$FLUX_VERSION out="$CACHE/bin/flux-$FLUX_VERSION" w="$CACHE/build/flux-$FLUX_VERSION"
  already_built "flux $v" "$out" flux && return 0
  ensure_go
  local t0=$SECONDS dir repo py
  repo=$(cd "$here/../.." && pwd)
  py=$(project_python) || return 1
  mkdir -p "$CACHE/build" "$out"
  log "flux $v: downloading github.com/fluxcd/flux2/v2@$v from the module proxy"
  if ! dir=$(module_dir "github.com/fluxcd/flux2/v2@$v"); then
    log "FAILED: flux $v: cannot download the module github.com/fluxcd/flux2/v2@$v from $GOPROXY"; return 1
  fi
  copy_module "$dir" "$w"
  if ! PYTHONPATH="$repo/scripts${PYTHONPATH:+:$PYTHONPATH}" "$py" -m local_stack.flux_cli "$w/cmd/flux/manifests"; then
    log "FAILED: flux $v: writing the embedded manifests (local_stack.flux_cli) failed; see above"; return 1
  fi
  rm -rf "$out/.tmp" && mkdir -p "$out/.tmp"
  if ! (cd "$w" && GOFLAGS="${GOFLAGS:-} -mod=mod" go_build_progress "flux $v" "$out/.tmp/flux" \
          "-s -w -X main.VERSION=${v#v}" ./cmd/flux); then
    log "FAILED: flux $v: building github.com/fluxcd/flux2/v2@$v (./cmd/flux) failed; see the compiler output above"
    return 1
  fi
  mv "$out/.tmp/flux" "$out/flux" && rmdir "$out/.tmp"
  echo "$v" > "$out/VERSION"
  log "flux $v: done in $((SECONDS - t0)) s (download and compile) -> $out/flux"
}

# The project's Python (.venv), for the two steps that run Python modules of scripts/local_stack (the flux CLI's
# embedded manifests, the Flux components mirror); every Go build before them needs only the system python3.
# TIDEPOOL_BUILD_WAIT_FOR_VENV=<seconds>: the build was started beside `scripts/bootstrap` (make local, make test,
# CI), so wait up to that long for bootstrap's stamp (.venv/.lock-stamp), a line a minute, then fail naming it.
project_python() {
  local repo py waited=0 limit=${TIDEPOOL_BUILD_WAIT_FOR_VENV:-0}
  repo=$(cd "$here/../.." && pwd)
  py=${TIDEPOOL_STACK_PYTHON:-$repo/.venv/bin/python}
  if [ -z "${TIDEPOOL_STACK_PYTHON:-}" ]; then
    while [ ! -f "$repo/.venv/.lock-stamp" ] && [ "$waited" -lt "$limit" ]; do
      [ $((waited % 60)) -eq 0 ] && log "waiting for scripts/bootstrap to finish .venv ($waited s of $limit s)"
      sleep 5; waited=$((waited + 5))
    done
    if [ ! -f "$repo/.venv/.lock-stamp" ]; then
      log "FAILED: $repo/.venv is not bootstrapped$([ "$limit" -gt 0 ] && echo " after waiting $limit s"); run scripts/bootstrap first"
      return 1
    fi
  fi
  echo "$py"
}

# The Flux v2 components (install.yaml) assembled offline from the built controllers' CRDs and the reference CRDs
# (flux_mirror.py); seconds, no network.
build_flux_mirror() {
  local repo py; repo=$(cd "$here/../.." && pwd)
  py=$(project_python) || return 1
  PYTHONPATH="$repo/scripts${PYTHONPATH:+:$PYTHONPATH}" "$py" -m local_stack.flux_mirror
}

case "${1:-all}" in
  etcd) build_etcd ;;
  kubernetes) build_kubernetes; build_kube_scheduler ;;
  kube-scheduler) build_kube_scheduler ;;
  helm-controller) build_helm_controller ;;
  notification-controller) build_notification_controller ;;
  kwok) build_kwok ;;
  eksctl) build_eksctl ;;
  source-controller) build_source_controller ;;
  kustomize-controller) build_kustomize_controller ;;
  external-secrets) build_external_secrets ;;
  flux-mirror) build_flux_mirror ;;
  flux-cli) build_flux_cli ;;
  helm) build_helm ;;
  gitops) build_source_controller; build_kustomize_controller; build_external_secrets; build_flux_mirror ;;
  # What `make local` / `up` need: everything but eksctl (only the EKS path and its tests run eksctl).
  # The two steps that need .venv come last (project_python), so the Go builds can start beside scripts/bootstrap.
  local) build_etcd; build_kubernetes; build_kube_scheduler; build_source_controller; build_kustomize_controller
         build_external_secrets; build_helm_controller; build_kwok; build_helm; build_flux_mirror ;;
  all) build_etcd; build_kubernetes; build_kube_scheduler; build_eksctl; build_source_controller; build_kustomize_controller
       build_external_secrets; build_helm_controller; build_kwok; build_helm; build_flux_mirror; build_flux_cli ;;
  go) ensure_go; "$GO" version ;;
  *) echo "usage: $0 [all|local|etcd|kubernetes|kube-scheduler|eksctl|gitops|flux-mirror|flux-cli|helm|source-controller|kustomize-controller|external-secrets|helm-controller|notification-controller|kwok|go]" >&2; exit 2 ;;
esac
case "${1:-all}" in local|all|gitops) log "${1:-all}: done in $SECONDS s" ;; esac
