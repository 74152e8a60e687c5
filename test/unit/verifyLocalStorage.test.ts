import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { readAsset } from "../../userdata/assets";
import { runBash } from "../helpers/installer";

/** True when `dir` is a mount point (the passing case needs one; /dev/shm is on Linux hosts). */
function isMountPoint(dir: string): boolean {
  try {
    execFileSync("mountpoint", ["-q", dir]);
    return true;
  } catch {
    return false;
  }
}

// The passing case needs two directories on one mounted filesystem and one elsewhere,
// without root: /dev/shm (tmpfs) and the OS temp dir. The lab proves it on a real xfs array.
const SHM = "/dev/shm";
const shmIsMount = isMountPoint(SHM);

describe("verify-local-storage.sh (kubelet ExecStartPre on ssd node groups), run by bash", () => {
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-verify-"));
  const script = path.join(work, "verify-local-storage.sh");
  writeFileSync(script, readAsset("scripts/verify-local-storage.sh"));
  const cleanup: string[] = [work];
  after(() => cleanup.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const run = (mount: string, dirs: string[]) => {
    const env = path.join(work, `env-${Math.random().toString(36).slice(2)}`);
    writeFileSync(env, `SOCI_EKS_ARRAY_MOUNT='${mount}'\nSOCI_EKS_ARRAY_DIRS='${dirs.join(" ")}'\n`);
    return runBash(script, { SOCI_EKS_LOCAL_STORAGE_ENV: env });
  };

  it("fails loudly when nothing is mounted at the array mount point (no instance-store disk found)", async () => {
    const notMounted = mkdtempSync(path.join(work, "mnt-"));
    const r = await run(notMounted, [work]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`soci-eks: ERROR: .*nothing is mounted at ${notMounted}: .*no NVMe instance-store disk`));
    assert.match(r.stderr, /kubelet will not start on the root volume/);
  });

  it("fails when its configuration file is missing", async () => {
    const r = await runBash(script, { SOCI_EKS_LOCAL_STORAGE_ENV: path.join(work, "absent.env") });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /absent\.env is missing/);
  });

  it("passes when every directory is on the array, and names each one that is not", { skip: shmIsMount ? false : `${SHM} is not a mount point here` }, async () => {
    const onArray = mkdtempSync(path.join(SHM, "soci-eks-verify-"));
    cleanup.push(onArray);
    const ok = await run(SHM, [onArray]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, new RegExp(`instance-store array ${SHM} \\(tmpfs tmpfs\\) holds ${onArray}`));

    const offArray = mkdtempSync(path.join(work, "state-"));
    const missing = path.join(work, "never-created");
    const bad = await run(SHM, [onArray, offArray, missing]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`ERROR: ${offArray} is on .*, not on the instance-store array at ${SHM}`));
    assert.match(bad.stderr, new RegExp(`ERROR: ${missing} does not exist`));
    assert.doesNotMatch(bad.stderr, new RegExp(`ERROR: ${onArray} `));
  });
});
