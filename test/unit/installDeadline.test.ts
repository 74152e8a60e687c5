import { strict as assert } from "assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { readAsset } from "../../userdata/assets";
import { bootstrapOptions } from "../helpers/options";
import { killAllWithEnv, prepareRoot, processesWithEnv, restrictedPath, runBash } from "../helpers/installer";
import { fakeReleaseTarball, sha256 } from "../helpers/mirror";

const VERSION = "0.16.1";
/** Nothing listens there; the cases below end before any download. */
const NO_MIRROR = "http://127.0.0.1:9";
const release = { version: VERSION, mirrorBaseUrl: NO_MIRROR, sha256: { amd64: sha256(fakeReleaseTarball(VERSION)) } };

/** A dnf that records its pid and arguments, then never ends; `ignoreTerm`: it ignores SIGTERM too (only SIGKILL ends it). */
const hangingDnf = (dir: string, ignoreTerm: boolean): string =>
  ["#!/bin/bash", ...(ignoreTerm ? ["trap '' TERM"] : []), `echo "$$ $*" >>"${dir}/dnf.calls"`, "exec sleep 3600", ""].join("\n");

/** Waits (up to 10 s, polling) until no process carries the installer's SOCI_EKS_ROOT; returns those left. */
async function leftovers(root: string): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const pids = processesWithEnv("SOCI_EKS_ROOT", root);
    if (pids.length === 0) return [];
    await new Promise((r) => setTimeout(r, 100));
  }
  return processesWithEnv("SOCI_EKS_ROOT", root);
}

describe("the installer's overall deadline and per-command limits (real scripts, stub commands)", () => {
  const dirs: string[] = [];
  const newDir = (): string => {
    const d = mkdtempSync(path.join(tmpdir(), "soci-eks-deadline-"));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) {
      killAllWithEnv("SOCI_EKS_ROOT", path.join(d, "root"));
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("soci-eks-install.service's TimeoutStartSec is a backstop above the installer's own deadline (15 min)", () => {
    const installer = readAsset("scripts/al2023-install-soci.sh");
    const unit = readAsset("units/soci-eks-install.service");
    const m = /^\[\[ "\$\{2:-\}" == timed \]\] \|\| exec timeout --preserve-status -k (\d+) "\$\{SOCI_EKS_INSTALL_DEADLINE:-(\d+)\}" "\$0" "\$\{POLICY\}" timed$/m.exec(installer);
    assert.ok(m, "the installer runs itself under timeout");
    const [killAfter, deadline] = [Number(m[1]), Number(m[2])];
    const unitMin = Number(/^TimeoutStartSec=(\d+)min$/m.exec(unit)?.[1]);
    assert.equal(deadline, 900, "the install's budget: 15 minutes on every boot");
    // the deadline, the TERM trap's policy (systemctl disable --now may wait for SOCI's stop), then timeout's SIGKILL
    assert.ok(unitMin * 60 >= deadline + killAfter + 60, `unit ${unitMin} min vs deadline ${deadline} s + ${killAfter} s`);
    assert.match(installer, /^trap 'soci_failed install-timeout "SIGTERM at the deadline" 2>&3' TERM$/m);
  });

  for (const policy of ["fallback", "fail"] as const) {
    it(`a dnf that never answers${policy === "fallback" ? " (and ignores SIGTERM)" : ""}: the deadline ends the install, onSociFailure=${policy} applies (install-timeout), nothing left running`, { timeout: 120_000 }, async () => {
      const dir = newDir();
      const root = path.join(dir, "root");
      const script = await prepareRoot(root, bootstrapOptions({ release, onSociFailure: policy }));
      const bin = restrictedPath(path.join(dir, "bin"), ["unpigz"], { dnf: hangingDnf(dir, policy === "fallback") });
      const t0 = Date.now();
      const run = await runBash(script, { PATH: bin, SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0", SOCI_EKS_INSTALL_DEADLINE: "8" });
      const seconds = (Date.now() - t0) / 1000;
      assert.match(readFileSync(path.join(dir, "dnf.calls"), "utf8"), /^\d+ install -y --quiet pigz$/m, "the install reached dnf and hung there");
      assert.equal(run.code, policy === "fail" ? 1 : 0, run.stderr);
      const word = policy === "fail" ? "FAILED" : "DEGRADED";
      assert.match(run.stderr, new RegExp(`${word} \\(onSociFailure=${policy}\\): install-timeout: SIGTERM at the deadline`));
      const marker = readFileSync(path.join(root, `run/soci-eks/${policy === "fail" ? "failed" : "degraded"}`), "utf8");
      assert.match(marker, new RegExp(`^reason=install-timeout\npolicy=${policy}\n`));
      assert.equal(readFileSync(path.join(root, `var/lib/soci-eks/${policy === "fail" ? "failed" : "degraded"}`), "utf8"), marker);
      const dropIn = parseYaml(readFileSync(path.join(root, "run/soci-eks/nodeadm.yaml"), "utf8"));
      assert.equal(dropIn.spec.containerd, undefined, "no SOCI wiring");
      assert.equal(existsSync(path.join(root, "run/systemd/system/containerd.service.d/10-soci-eks.conf")), false);
      const hold = path.join(root, "run/systemd/system/kubelet.service.d/05-soci-eks-failed.conf");
      if (policy === "fail") {
        assert.deepEqual(dropIn.spec, {});
        assert.match(readFileSync(hold, "utf8"), /exit 1'$/m, "kubelet held");
      } else {
        assert.deepEqual(dropIn.spec.kubelet.flags, ["--node-labels=soci-eks/degraded=install-timeout,soci-eks/mode=off"]);
        assert.deepEqual(dropIn.spec.kubelet.config.registerWithTaints, [{ key: "soci-eks/degraded", value: "install-timeout", effect: "PreferNoSchedule" }]);
        assert.equal(existsSync(hold), false);
      }
      assert.deepEqual(await leftovers(root), [], "the hung dnf and the install are gone");
      // generous: 8 s deadline + 5 s until SIGKILL; this bounds a hang, it does not time the machine
      assert.ok(seconds < 45, `ended after ${seconds} s`);
    });
  }

  it("each dnf run is cut at SOCI_EKS_DNF_TIMEOUT and retried 5 times, then packages-missing, well inside the deadline", { timeout: 120_000 }, async () => {
    const dir = newDir();
    const root = path.join(dir, "root");
    const script = await prepareRoot(root, bootstrapOptions({ release }));
    const bin = restrictedPath(path.join(dir, "bin"), ["unpigz"], { dnf: hangingDnf(dir, true) });
    const run = await runBash(script, {
      PATH: bin, SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0", SOCI_EKS_DNF_TIMEOUT: "1", SOCI_EKS_INSTALL_DEADLINE: "600",
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(path.join(dir, "dnf.calls"), "utf8").trim().split("\n").length, 5, "5 attempts, each cut");
    assert.match(run.stderr, /DEGRADED \(onSociFailure=fallback\): packages-missing: /);
    assert.doesNotMatch(run.stderr, /install-timeout/);
    assert.deepEqual(await leftovers(root), []);
  });

  it("without jq on PATH (packages-missing): the fallback still taints, keeping the other NodeConfigs' taints", async () => {
    const dir = newDir();
    const root = path.join(dir, "root");
    const script = await prepareRoot(root, bootstrapOptions({ release }));
    const k = path.join(root, "etc/kubernetes/kubelet");
    mkdirSync(path.join(k, "config.json.d"), { recursive: true });
    // as nodeadm writes them: indented JSON; a taint in both files and an older run's soci-eks taint
    writeFileSync(path.join(k, "config.json"), JSON.stringify({ kind: "KubeletConfiguration", registerWithTaints: [{ key: "team", value: "a", effect: "NoSchedule" }] }, null, 4));
    writeFileSync(path.join(k, "config.json.d/40-nodeadm.conf"), JSON.stringify({
      registerWithTaints: [
        { key: "karpenter.sh/unregistered", effect: "NoExecute" },
        { key: "team", value: "a", effect: "NoSchedule" },
        { key: "soci-eks/degraded", value: "old", effect: "PreferNoSchedule" },
      ],
    }, null, 2));
    const bin = restrictedPath(path.join(dir, "bin"), ["jq", "dnf"]);
    const run = await runBash(script, { PATH: bin, SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0" });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /DEGRADED \(onSociFailure=fallback\): packages-missing: jq is missing\. .*labelled soci-eks\/degraded=packages-missing/);
    const dropIn = parseYaml(readFileSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml"), "utf8"));
    assert.deepEqual(dropIn.spec.kubelet.config.registerWithTaints, [
      { key: "team", value: "a", effect: "NoSchedule" },
      { key: "karpenter.sh/unregistered", effect: "NoExecute" },
      { key: "soci-eks/degraded", value: "packages-missing", effect: "PreferNoSchedule" },
    ]);
    assert.deepEqual(dropIn.spec.kubelet.flags, ["--node-labels=soci-eks/degraded=packages-missing,soci-eks/mode=off"]);
  });

  it("without jq and without any kubelet config: the taint alone", async () => {
    const dir = newDir();
    const root = path.join(dir, "root");
    const script = await prepareRoot(root, bootstrapOptions({ release, onSociFailure: "fallback" }));
    const run = await runBash(script, { PATH: restrictedPath(path.join(dir, "bin"), ["jq", "dnf"]), SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0" });
    assert.equal(run.code, 0, run.stderr);
    const dropIn = parseYaml(readFileSync(path.join(root, "etc/eks/nodeadm.d/90-soci-eks.yaml"), "utf8"));
    assert.deepEqual(dropIn.spec.kubelet.config.registerWithTaints, [{ key: "soci-eks/degraded", value: "packages-missing", effect: "PreferNoSchedule" }]);
  });
});
