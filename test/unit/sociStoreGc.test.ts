import { strict as assert } from "assert";
import { createHash } from "crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, describe, it } from "node:test";
import { readAsset } from "../../userdata/assets";
import { runBash } from "../helpers/installer";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * A stand-in for `ctr` that answers from files: namespaces, `content ls`, `content get`, soci `snapshots ls|info`.
 * The lab runs the script against the real containerd (lab/lib/store-gc.sh); this covers its decisions.
 */
const FAKE_CTR = `#!/usr/bin/env bash
set -euo pipefail
d=$FAKE_CTR_DIR
[[ -e $d/fail ]] && { echo "ctr: connection refused" >&2; exit 1; }
ns=default
while [[ $1 == --* ]]; do
  case $1 in --address) shift 2 ;; --namespace) ns=$2; shift 2 ;; *) shift ;; esac
done
case "$*" in
  "namespaces ls -q") cat "$d/namespaces" ;;
  "content ls") cat "$d/$ns/content-ls" ;;
  content\\ get\\ *) cat "$d/$ns/content/$3" ;;
  "snapshots --snapshotter soci ls") cat "$d/$ns/snapshots-ls" ;;
  snapshots\\ --snapshotter\\ soci\\ info\\ *) cat "$d/$ns/snapshots/$5" ;;
  *) echo "fake ctr: unexpected $*" >&2; exit 2 ;;
esac
`;

interface Image {
  index: string;
  ztocs: string[];
  layers: string[];
}

describe("soci-store-gc.sh (SOCI's own store cleanup), run by bash against a ctr stand-in", () => {
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-store-gc-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  const script = path.join(work, "soci-store-gc.sh");
  writeFileSync(script, readAsset("scripts/soci-store-gc.sh"));
  const ctr = path.join(work, "ctr");
  writeFileSync(ctr, FAKE_CTR);
  chmodSync(ctr, 0o755);

  let n = 0;
  /** A fresh node: SOCI's store under root, and the ctr stand-in's answers. */
  function node() {
    const root = path.join(work, `root-${++n}`);
    const store = path.join(root, "var/lib/soci-snapshotter-grpc/content/blobs/sha256");
    const fake = path.join(work, `ctr-${n}`);
    mkdirSync(store, { recursive: true });
    mkdirSync(fake, { recursive: true });
    writeFileSync(path.join(fake, "namespaces"), "k8s.io\n");
    const ns = path.join(fake, "k8s.io");
    mkdirSync(path.join(ns, "content"), { recursive: true });
    mkdirSync(path.join(ns, "snapshots"), { recursive: true });
    const contentLs = ["DIGEST\tSIZE\tAGE\tLABELS"];
    const snapshotsLs = ["KEY\tPARENT\tKIND"];
    const old = Date.now() / 1000 - 3 * 3600;
    const blob = (text: string, ageSec?: number) => {
      const d = sha(text);
      const f = path.join(store, d);
      writeFileSync(f, text);
      const t = ageSec === undefined ? old : Date.now() / 1000 - ageSec;
      utimesSync(f, t, t);
      return d;
    };
    /** A lazily pulled image: SOCI index + zTOCs in SOCI's store. */
    const image = (name: string, ageSec?: number): Image => {
      const layers = [sha(`${name}-layer-1`), sha(`${name}-layer-2`)];
      const ztocs = layers.map((l) => blob(`\u0000ztoc of ${l}`, ageSec));
      const index = blob(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          artifactType: "application/vnd.amazon.soci.index.v2+json",
          config: { mediaType: "application/vnd.oci.empty.v1+json", digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 },
          layers: ztocs.map((z, i) => ({
            mediaType: "application/octet-stream",
            digest: `sha256:${z}`,
            size: 20,
            annotations: { "com.amazon.soci.image-layer-digest": `sha256:${layers[i]}`, "com.amazon.soci.image-layer-mediaType": "application/vnd.oci.image.layer.v1.tar+gzip" },
          })),
        }),
        ageSec,
      );
      return { index, ztocs, layers };
    };
    /** The image's manifest is in containerd's content store (cached image). */
    const cache = (img: Image, name: string) => {
      const manifest = JSON.stringify({ schemaVersion: 2, annotations: { "com.amazon.soci.index-digest": `sha256:${img.index}` }, layers: img.layers.map((l) => ({ digest: `sha256:${l}` })) });
      const d = sha(manifest);
      writeFileSync(path.join(ns, "content", `sha256:${d}`), manifest);
      contentLs.push(`sha256:${d}\t1.2kB\t2 hours\tcontainerd.io/gc.ref.content.config=sha256:${sha(name)},containerd.io/gc.ref.content.l.0=sha256:${img.layers[0]}`);
      contentLs.push(`sha256:${sha(name)}\t900B\t2 hours\tcontainerd.io/gc.ref.snapshot.soci/0=sha256:x`);
    };
    /** A soci snapshot of one of the image's layers (a running container's rootfs chain). */
    const snapshot = (img: Image, key: string) => {
      snapshotsLs.push(`${key}\t\tCommitted`);
      writeFileSync(path.join(ns, "snapshots", key), JSON.stringify({ Kind: "Committed", Name: key, Labels: { "containerd.io/snapshot/cri.layer-digest": `sha256:${img.layers[1]}` } }));
    };
    const flush = () => {
      writeFileSync(path.join(ns, "content-ls"), contentLs.join("\n") + "\n");
      writeFileSync(path.join(ns, "snapshots-ls"), snapshotsLs.join("\n") + "\n");
    };
    /** The running daemon's log: its start line, then one line per index it loaded (and caches). */
    const daemonLog = [JSON.stringify({ level: "info", msg: "starting soci-snapshotter-grpc", version: "v0.16.1" })];
    const loaded = (img: Image) =>
      daemonLog.push(JSON.stringify({ digest: `sha256:${img.index}`, key: "k8s.io/3/extract", level: "info", msg: "fetching SOCI index from remote registry" }));
    const logFile = path.join(fake, "soci.log");
    const has = (d: string) => existsSync(path.join(store, d));
    const run = (env: Record<string, string> = {}) => {
      flush();
      writeFileSync(logFile, daemonLog.join("\n") + "\n");
      return runBash(script, { SOCI_EKS_ROOT: root, SOCI_EKS_CTR: ctr, FAKE_CTR_DIR: fake, CONTAINERD_ADDRESS: "/x.sock", SOCI_EKS_SOCI_LOG: logFile, ...env });
    };
    return { root, fake, blob, image, cache, snapshot, loaded, daemonLog, has, run };
  }
  const all = (img: Image) => [img.index, ...img.ztocs];

  it("removes what no image needs, a run after it marked it; keeps cached images', running containers' and young blobs", async () => {
    const t = node();
    const gone = t.image("gone");
    const cached = t.image("cached");
    const running = t.image("running"); // its image record and manifest are gone; only a snapshot remains
    const pulling = t.image("pulling", 60); // written a minute ago, containerd does not know it yet
    const strayLayer = t.blob("\u001f\u008b a layer SOCI unpacked itself, image gone");
    t.cache(cached, "cached");
    t.snapshot(running, "sha256:chain-of-running");
    const first = await t.run();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /removed 0 blobs \(0 bytes\) unneeded since the last run; marked 4 newly unneeded/);
    for (const d of [...all(gone), strayLayer]) assert.equal(t.has(d), true, `marked, not yet removed: ${d}`);
    const second = await t.run();
    assert.equal(second.code, 0, second.stderr);
    for (const d of all(gone)) assert.equal(t.has(d), false, `gone ${d}`);
    assert.equal(t.has(strayLayer), false);
    for (const d of [...all(cached), ...all(running), ...all(pulling)]) assert.equal(t.has(d), true, d);
    assert.match(second.stderr, /soci-eks store-gc: removed 4 blobs \(\d+ bytes\) unneeded since the last run; marked 0 newly unneeded; kept 0 needed again at the second look/);
  });

  it("an image pulled again between two runs keeps its index and zTOCs (the mark is dropped)", async () => {
    const t = node();
    const gone = t.image("gone");
    assert.match((await t.run()).stderr, /marked 3 newly unneeded/);
    t.cache(gone, "gone"); // pulled again: SOCI loads the index from its own store, containerd has the manifest
    const r = await t.run();
    assert.equal(r.code, 0, r.stderr);
    for (const d of all(gone)) assert.equal(t.has(d), true, d);
    assert.match(r.stderr, /removed 0 blobs .*marked 0 newly unneeded/);
    assert.match(readFileSync(path.join(t.root, "var/lib/soci-eks/store-gc-marks"), "utf8"), /^$/);
  });

  it("an image pulled again during a run, after the first look, keeps its index and zTOCs (the second look; the race replayed)", async () => {
    const t = node();
    const gone = t.image("gone");
    const other = t.image("other");
    await t.run(); // both marked
    // Between this run's first look (both still unneeded, both due) and its removal, a pod pulls `gone` again.
    const manifest = JSON.stringify({ schemaVersion: 2, annotations: { "com.amazon.soci.index-digest": `sha256:${gone.index}` }, layers: gone.layers.map((l) => ({ digest: `sha256:${l}` })) });
    const d = sha(manifest);
    const ns = path.join(t.fake, "k8s.io");
    const pull = [
      `printf '%s' '${manifest}' >'${path.join(ns, "content", `sha256:${d}`)}'`,
      `printf 'sha256:${d}\t1.2kB\t1 second\tcontainerd.io/gc.ref.content.config=sha256:${sha("gone")}\n' >>'${path.join(ns, "content-ls")}'`,
    ].join(" && ");
    const r = await t.run({ SOCI_EKS_STORE_GC_BEFORE_RECHECK: pull });
    assert.equal(r.code, 0, r.stderr);
    for (const x of all(gone)) assert.equal(t.has(x), true, `needed again: ${x}`);
    for (const x of all(other)) assert.equal(t.has(x), false, `still unneeded: ${x}`);
    assert.match(r.stderr, /removed 3 blobs .*; kept 3 needed again at the second look/);
  });

  it("without the second look the race deletes what the new pull uses (so the test above can fail)", async () => {
    const real = readAsset("scripts/soci-store-gc.sh");
    const mutated = real.replace(/^needed "\$\{WORK\}\/needed2"$/m, 'cp "${WORK}/needed1" "${WORK}/needed2"');
    assert.notEqual(mutated, real);
    const t = node();
    const gone = t.image("gone");
    await t.run();
    const manifest = JSON.stringify({ schemaVersion: 2, annotations: { "com.amazon.soci.index-digest": `sha256:${gone.index}` }, layers: [] });
    const d = sha(manifest);
    const ns = path.join(t.fake, "k8s.io");
    const pull = `printf '%s' '${manifest}' >'${path.join(ns, "content", `sha256:${d}`)}' && printf 'sha256:${d}\t1kB\t1 second\tcontainerd.io/gc.ref.content.config=sha256:x\n' >>'${path.join(ns, "content-ls")}'`;
    writeFileSync(script, mutated);
    try {
      await t.run({ SOCI_EKS_STORE_GC_BEFORE_RECHECK: pull });
    } finally {
      writeFileSync(script, real);
    }
    for (const x of all(gone)) assert.equal(t.has(x), false, `the mutated script removed ${x}`);
  });

  it("keeps the indexes the running daemon loaded: it caches them and would fail to mount the image again", async () => {
    const t = node();
    const gone = t.image("gone");
    const goneEarlier = t.image("gone-before-the-daemon-restarted");
    t.loaded(gone);
    await t.run();
    const r = await t.run();
    assert.equal(r.code, 0, r.stderr);
    for (const d of all(gone)) assert.equal(t.has(d), true, d);
    for (const d of all(goneEarlier)) assert.equal(t.has(d), false, d);
  });

  it("removes nothing when the daemon's log lost its start (journal vacuumed)", async () => {
    const t = node();
    const gone = t.image("gone");
    t.daemonLog.shift();
    t.loaded(t.image("other"));
    const r = await t.run();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the SOCI daemon's log no longer starts at its start; nothing removed/);
    for (const d of all(gone)) assert.equal(t.has(d), true);
  });

  it("removes nothing and exits 1 when containerd cannot be asked", async () => {
    const t = node();
    const gone = t.image("gone");
    writeFileSync(path.join(t.fake, "fail"), "");
    const r = await t.run();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: containerd at \/x\.sock did not list its namespaces; nothing removed/);
    for (const d of all(gone)) assert.equal(t.has(d), true);
  });

  it("dry run reports and removes nothing, nor marks; a bad grace value is refused", async () => {
    const t = node();
    const gone = t.image("gone");
    assert.equal((await t.run()).code, 0);
    const r = await t.run({ SOCI_EKS_STORE_GC_DRY_RUN: "1" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /would remove \(dry run\) 3 blobs/);
    for (const d of all(gone)) assert.equal(t.has(d), true);
    const bad = await t.run({ SOCI_EKS_STORE_GC_GRACE_MINUTES: "1h" });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /SOCI_EKS_STORE_GC_GRACE_MINUTES='1h' is not a whole number of minutes/);
  });

  it("does nothing on a node without SOCI's store (parallel mode, or before the first lazy pull)", async () => {
    const root = path.join(work, "empty-root");
    mkdirSync(root, { recursive: true });
    const r = await runBash(script, { SOCI_EKS_ROOT: root, SOCI_EKS_CTR: "/nonexistent/ctr" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no SOCI content store at .*; nothing to do/);
  });
});
