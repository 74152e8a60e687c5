import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";

/**
 * lab/lib/gc-pressure.sh's soci_index_blob, run under bash and jq on OCI layouts built here: it must return the SOCI
 * index the layout serves (named by its image manifest), not the first SOCI index blob by digest. A layout rewritten
 * by `soci-eks-prefetch apply` keeps the index it replaced among its blobs; the bench's facts for the recorded rows
 * (ref-2-rec, refgz-2-rec) came from that plain one when it sorted first.
 */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const LIB = path.join(REPO_ROOT, "lab/lib/gc-pressure.sh");
const SOCI_INDEX = "application/vnd.amazon.soci.index.v2+json";

let dir: string;

function put(layout: string, doc: unknown): string {
  const body = JSON.stringify(doc);
  const hex = createHash("sha256").update(body).digest("hex");
  writeFileSync(path.join(layout, "blobs", "sha256", hex), body);
  return `sha256:${hex}`;
}

/** A standalone-convert layout: index.json -> image index -> [image manifest naming `served`, the SOCI index]. */
function layout(name: string, indexes: Array<{ layers: number; nonce: string }>, served: number | undefined): { dir: string; digests: string[] } {
  const d = path.join(dir, name);
  mkdirSync(path.join(d, "blobs", "sha256"), { recursive: true });
  const digests = indexes.map((i) =>
    put(d, { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: SOCI_INDEX }, layers: Array(i.layers).fill({ mediaType: "application/octet-stream" }), annotations: { nonce: i.nonce } }),
  );
  const man = put(d, {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    layers: [],
    ...(served === undefined ? {} : { annotations: { "com.amazon.soci.index-digest": digests[served] } }),
  });
  const idx = put(d, {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{ digest: man }, ...(served === undefined ? [] : [{ digest: digests[served], artifactType: SOCI_INDEX }])],
  });
  writeFileSync(path.join(d, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: idx }] }));
  return { dir: d, digests };
}

function sociIndexBlob(layoutDir: string): { status: number | null; out: string } {
  const r = spawnSync("/bin/bash", ["-c", `. "${LIB}"; soci_index_blob "$1"`, "test", layoutDir], { encoding: "utf8" });
  return { status: r.status, out: r.stdout.trim() };
}

describe("lab soci_index_blob", () => {
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "soci-index-blob-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("returns the index the image manifest names, though the replaced one sorts first by digest", () => {
    // Pick nonces so that the replaced (plain, 9 zTOCs) index's digest sorts before the served one (18 layers).
    let n = 0;
    let l: ReturnType<typeof layout>;
    do {
      rmSync(path.join(dir, "rec"), { recursive: true, force: true });
      l = layout("rec", [{ layers: 9, nonce: `plain-${n}` }, { layers: 18, nonce: `rec-${n}` }], 1);
      n++;
    } while (l.digests[0] > l.digests[1]);
    const r = sociIndexBlob(l.dir);
    assert.equal(r.status, 0);
    assert.equal(r.out, path.join(l.dir, "blobs", "sha256", l.digests[1].slice(7)));
  });

  it("returns the only index of a plain layout, and fails for a layout whose manifest names none", () => {
    const plain = layout("plain", [{ layers: 9, nonce: "p" }], 0);
    assert.equal(sociIndexBlob(plain.dir).out, path.join(plain.dir, "blobs", "sha256", plain.digests[0].slice(7)));
    const none = layout("none", [{ layers: 9, nonce: "n" }], undefined);
    assert.equal(sociIndexBlob(none.dir).status, 1);
  });
});
