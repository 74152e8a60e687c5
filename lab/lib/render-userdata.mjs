// Renders the AL2023 launch-template user data the lab boots with, using the built
// project (dist/). Prefers the CLI (`node dist/cli/main.js userdata ...`) when it exists;
// otherwise calls renderUserData() from dist/userdata directly (same code path the
// components use). Prints the MIME document on stdout and the method on stderr.
// Usage: node render-userdata.mjs <repoDir> <mode> <mirrorBaseUrl> <sha256>
//   sha256: the release tarball's (the lab's mirror: machine.sh's RELEASE_SHA256); soci-eks ships no digest for
//   0.16.1, so every document pins the user's, and a node checks the tarball against nothing else.
// Env:   LAB_USERDATA_FLAGS: more CLI flags, e.g. "--ssd --keep-soci-on-root-volume" (CLI only)
//        LAB_RENDER=eks-plugin: the user data of a self-managed eks.NodeGroupV2 given sociForEksSelfManaged's
//          arguments, in the shape @pulumi/eks builds it (our model in test/helpers/eksUserData.ts: its renderer runs in
//          its provider plugin): its NodeConfig parts (the lab's cluster fields, kubelet flags for the labels), then our
//          parts. (An eks.ManagedNodeGroup with sociForEks boots from our own launch template: the plain render.) Takes
//          --ssd and --keep-soci-on-root-volume from LAB_USERDATA_FLAGS (ssd on m6id.xlarge facts).
//        LAB_INSTANCE=TYPE,VCPUS,MEMORY_MIB: render for these instance facts instead of m6i.xlarge (the bench renders
//          the parallel tuning for the lab machine's own vCPU count); CLI and API paths only.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [repoArg, mode, mirror, sha256] = process.argv.slice(2);
if (!/^[0-9a-f]{64}$/.test(sha256 ?? "")) {
  process.stderr.write(`render-userdata.mjs: the 4th argument must be the release tarball's sha256 (got '${sha256 ?? ""}')\n`);
  process.exit(2);
}
const repo = path.resolve(repoArg);
const require = createRequire(import.meta.url);
const cli = path.join(repo, "dist/cli/main.js");
const extra = (process.env.LAB_USERDATA_FLAGS ?? "").split(/\s+/).filter(Boolean);
// The CLI refuses --ssd on a type without NVMe instance storage: SSD runs render for m6id.xlarge
// (m6i.xlarge plus one NVMe disk, same 4 vCPU / 16 GiB, so the same SOCI tuning).
const [instanceType, vcpus, memoryMiB] = process.env.LAB_INSTANCE
  ? process.env.LAB_INSTANCE.split(",")
  : [extra.includes("--ssd") ? "m6id.xlarge" : "m6i.xlarge", "4", "16384"];
// The release settings drive the installer, which mode off does not have: soci-eks refuses them there.
const release = mode === "off" ? [] : ["--soci-version", "0.16.1", "--mirror", mirror, "--soci-sha256", sha256];
const args = ["userdata", "--os", "al2023", "--mode", mode, "--instance-type", instanceType, "--vcpus", vcpus,
  "--memory-mib", memoryMiB, "--arch", "x86_64", ...release];
args.push(...extra);

let text;
if (process.env.LAB_RENDER === "eks-plugin") {
  const unknown = extra.filter((f) => f !== "--ssd" && f !== "--keep-soci-on-root-volume");
  if (unknown.length > 0) {
    process.stderr.write(`LAB_RENDER=eks-plugin takes --ssd and --keep-soci-on-root-volume, not ${unknown.join(" ")}\n`);
    process.exit(1);
  }
  const { sociForEksSelfManaged } = require(path.join(repo, "dist/components/index.js"));
  const { eksNodeGroupV2UserData } = require(path.join(repo, "dist/test/helpers/eksUserData.js"));
  const ssd = extra.includes("--ssd");
  const instanceFacts = ssd
    ? { instanceType: "m6id.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["x86_64"], gpus: 0, instanceStorage: { totalSizeGiB: 237, diskCount: 1, nvmeSupport: "required" } }
    : { instanceType: "m6i.xlarge", vcpus: 4, memoryMiB: 16384, architectures: ["x86_64"], gpus: 0 };
  const soci = sociForEksSelfManaged("lab", {
    instanceType: instanceFacts.instanceType,
    instanceFacts,
    sociMode: mode,
    ...(mode === "off" ? {} : { soci: { version: "0.16.1", mirrorBaseUrl: mirror, sha256 } }),
    ...(ssd ? { ssd: true, keepSociOnRootVolume: extra.includes("--keep-soci-on-root-volume") } : {}),
  });
  // The cluster fields node.sh gives nodeadm-sim (-cluster lab,https://127.0.0.1:6443,bGFiLWNh,10.100.0.0/16).
  const cluster = { name: "lab", apiServerEndpoint: "https://127.0.0.1:6443", certificateAuthority: "bGFiLWNh", serviceCidr: "10.100.0.0/16" };
  text = eksNodeGroupV2UserData(soci.nodeGroupV2Args, cluster);
  process.stderr.write(`rendered with: sociForEksSelfManaged("lab", {sociMode: "${mode}", ${instanceFacts.instanceType}${ssd ? ", ssd" : ""}}) -> eks.NodeGroupV2 args -> the @pulumi/eks document model\n`);
}
if (!text && existsSync(cli) && process.env.LAB_RENDER !== "api") {
  try {
    text = execFileSync(process.execPath, [cli, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    process.stderr.write(`rendered with: node dist/cli/main.js ${args.join(" ")}\n`);
  } catch (e) {
    process.stderr.write(`CLI userdata failed (${String(e.stderr || e.message).split("\n")[0]}); using dist/userdata API\n`);
  }
}
if (!text && extra.length > 0) {
  process.stderr.write(`the CLI is needed for ${extra.join(" ")}\n`);
  process.exit(1);
}
if (!text) {
  const u = require(path.join(repo, "dist/userdata/index.js"));
  const r = u.renderUserData("al2023", {
    mode,
    release: { version: "0.16.1", mirrorBaseUrl: mirror, sha256: { amd64: sha256 } },
    instance: { instanceType, vcpus: Number(vcpus), memoryMiB: Number(memoryMiB), architectures: ["x86_64"], gpus: 0 },
    architecture: "x86_64",
  });
  text = r.text;
  process.stderr.write(`rendered with: require("dist/userdata").renderUserData("al2023", {mode: "${mode}", instance: ${instanceType} ${vcpus} vCPU ${memoryMiB} MiB})\n`);
}
process.stdout.write(text);
