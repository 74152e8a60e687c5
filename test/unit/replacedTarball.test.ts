/**
 * A release mirror whose tarball was replaced together with its `.sha256sum` (which then matches the replaced bytes):
 * whatever a user passes for the default release, either the entry point refuses the settings before anything is
 * printed, or the node refuses the tarball (checksum-mismatch, onSociFailure applied, nothing installed, not wired to
 * SOCI). Before issue 19's release pinning, a document without a digest checked the tarball against the mirror's own
 * `.sha256sum`, and the replaced tarball installed.
 *
 * Driven through the CLI's argument parser (the rules every entry point shares) and bash running the installer in a
 * throwaway root against a loopback mirror.
 */
import { strict as assert } from "assert";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { parseUserdataArgs } from "../../cli/userdata";
import { prepareRoot, runBash } from "../helpers/installer";
import { fakeReleaseTarball, imdsHandler, LoopbackServer, sha256 } from "../helpers/mirror";

const VERSION = "0.16.1";
const ASSET = `soci-snapshotter-${VERSION}-linux-amd64.tar.gz`;
/** Upstream's tarball (a stand-in the tests build) and the one the mirror serves instead. */
const genuine = fakeReleaseTarball(VERSION);
const replaced = fakeReleaseTarball(`${VERSION}-replaced`);

describe("a mirror serving a replaced tarball with a matching .sha256sum", () => {
  const mirror = new LoopbackServer();
  const imds = new LoopbackServer(imdsHandler("111122223333", "us-west-2"));
  let mirrorUrl = "";
  let imdsUrl = "";
  const roots: string[] = [];

  before(async () => {
    mirror.serve(`/v${VERSION}/${ASSET}`, replaced);
    mirror.serve(`/v${VERSION}/${ASSET}.sha256sum`, `${sha256(replaced)}  ${ASSET}\n`);
    mirrorUrl = await mirror.start();
    imdsUrl = await imds.start();
  });
  after(async () => {
    await Promise.all([mirror.stop(), imds.stop()]);
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  // What a user can pass for the default release: nothing, or upstream's digest.
  const choices: [string, string[]][] = [
    ["no digest", []],
    ["upstream's digest", ["--soci-sha256", sha256(genuine)]],
  ];
  for (const policy of ["fallback", "fail"] as const) {
    for (const [what, flags] of choices) {
      it(`${what}, onSociFailure=${policy}: refused before anything is printed, or refused by the node; never installed`, async () => {
        let request: ReturnType<typeof parseUserdataArgs>;
        try {
          request = parseUserdataArgs(["--instance-type", "m7i.xlarge", "--mirror", mirrorUrl, "--on-soci-failure", policy, ...flags]);
        } catch (e) {
          // Refused at the entry point: it must be the release digest it asks for.
          assert.match(String((e as Error).message), /--soci-sha256 is unset: no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz/);
          return;
        }
        const root = mkdtempSync(path.join(tmpdir(), "soci-eks-replaced-"));
        roots.push(root);
        const script = await prepareRoot(root, request.options);
        const run = await runBash(script, { SOCI_EKS_ROOT: root, SOCI_EKS_RETRY_BASE_DELAY: "0", AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl });
        assert.equal(existsSync(path.join(root, "usr/local/bin/soci-snapshotter-grpc")), false, `the replaced tarball was installed:\n${run.stderr}`);
        assert.match(run.stderr, new RegExp(`${policy === "fail" ? "FAILED" : "DEGRADED"} \\(onSociFailure=${policy}\\): checksum-mismatch`));
        assert.equal(run.code, policy === "fail" ? 1 : 0, run.stderr);
        assert.match(readFileSync(path.join(root, `run/soci-eks/${policy === "fail" ? "failed" : "degraded"}`), "utf8"), /^reason=checksum-mismatch\n/);
        assert.equal(existsSync(path.join(root, "run/systemd/system/containerd.service.d/10-soci-eks.conf")), false, "containerd ordered after SOCI");
        const wiring = path.join(root, "run/soci-eks/nodeadm.yaml");
        if (existsSync(wiring)) assert.doesNotMatch(readFileSync(wiring, "utf8"), /snapshotter = "soci"|imageServiceEndpoint: unix:\/\/\/run\/soci/);
      });
    }
  }
});
