import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { describe, it } from "node:test";
import { tarGzip } from "../../userdata/tarball";

const FILES = [
  { path: "/etc/soci-eks/install.env", content: "SOCI_EKS_MODE='lazy'\n", permissions: "0644" },
  { path: "/usr/local/libexec/soci-eks/install-soci.sh", content: "#!/usr/bin/env bash\necho ü\n", permissions: "0755" },
  { path: "/etc/systemd/system/containerd.service.d/10-soci-eks.conf", content: Buffer.from([0, 1, 2, 255]), permissions: "0600" },
  { path: "/var/lib/soci-eks/empty", content: "", permissions: "0644" },
  { path: "/etc/soci-eks/exactly-one-block", content: "x".repeat(512), permissions: "0644" },
];

describe("tarGzip: the node-files archive, as GNU tar reads it", () => {
  it("GNU tar lists every member with its mode, owner root and size, in order", () => {
    const listing = execFileSync("tar", ["--list", "--verbose", "--gzip", "--numeric-owner"], { input: tarGzip(FILES), encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+/));
    assert.deepEqual(
      listing.map((f) => [f[0], f[1], f[2], f[5]]),
      [
        ["-rw-r--r--", "0/0", "21", "etc/soci-eks/install.env"],
        ["-rwxr-xr-x", "0/0", "28", "usr/local/libexec/soci-eks/install-soci.sh"],
        ["-rw-------", "0/0", "4", "etc/systemd/system/containerd.service.d/10-soci-eks.conf"],
        ["-rw-r--r--", "0/0", "0", "var/lib/soci-eks/empty"],
        ["-rw-r--r--", "0/0", "512", "etc/soci-eks/exactly-one-block"],
      ],
    );
  });

  it("GNU tar extracts each member byte for byte (text, UTF-8, binary, empty, a whole block)", () => {
    const archive = tarGzip(FILES);
    for (const f of FILES) {
      const out = execFileSync("tar", ["--extract", "--gzip", "--to-stdout", f.path.slice(1)], { input: archive });
      assert.ok(out.equals(Buffer.from(f.content)), f.path);
    }
  });

  it("is byte-for-byte the same for the same files (no timestamps), and differs when one byte does", () => {
    assert.ok(tarGzip(FILES).equals(tarGzip(FILES.map((f) => ({ ...f })))));
    assert.ok(!tarGzip(FILES).equals(tarGzip([{ ...FILES[0], content: "SOCI_EKS_MODE='lazx'\n" }, ...FILES.slice(1)])));
  });

  it("refuses what it cannot store safely: relative, dotted, duplicate or over-long paths, odd modes", () => {
    const bad: [string, string][] = [
      ["etc/relative", "0644"],
      ["/etc/../root/.ssh/authorized_keys", "0644"],
      ["/etc/./x", "0644"],
      ["/etc//x", "0644"],
      ["/etc/with space", "0644"],
      [`/${"d/".repeat(50)}x`, "0644"],
      ["/etc/x", "644"],
      ["/etc/x", "4755"],
    ];
    for (const [p, mode] of bad) assert.throws(() => tarGzip([{ path: p, content: "x", permissions: mode }]), /tar:/, `${p} ${mode}`);
    assert.throws(() => tarGzip([FILES[0], FILES[0]]), /appears twice/);
  });
});
