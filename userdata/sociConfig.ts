import { stringify } from "smol-toml";
import { CONTAINERD_SOCKET, SOCI_METRICS_SOCKET } from "./paths";
import { compareVersions, PARALLEL_FALLBACK_SINCE, PREFETCH_SINCE } from "./releases";
import { InstanceFacts, SociMode } from "./types";

/** SOCI's parallel pull and unpack knobs, sized for one instance type. */
export interface ParallelTuning {
  /** Concurrent range downloads across all images. */
  maxConcurrentDownloads: number;
  /** Concurrent range downloads for one image. */
  maxConcurrentDownloadsPerImage: number;
  /** Size of one range request, e.g. `64mb`. */
  chunkSize: string;
  /** Concurrent layer unpacks across all images. */
  maxConcurrentUnpacks: number;
  /** Concurrent layer unpacks for one image. */
  maxConcurrentUnpacksPerImage: number;
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}

/**
 * Sizes parallel pull for an instance.
 * - SOCI 0.16.1 starts every layer's download at once and hands out download slots chunk by chunk from one queue per
 *   image, so the chunks of all layers interleave and a layer (which unpacks only once complete) finishes late; fewer,
 *   bigger chunks finish layers sooner and let unpacking overlap the download. Measured in the lab bench on 2 vCPUs
 *   (lab/FINDINGS.md, "Parallel mode: chunk scheduling and igzip"): 8 downloads per image of 64 MiB chunks kept the
 *   chunked schedule's gain under a per-connection cap (as fast as 20 x 16 MiB, 1.8x stock) and most of the
 *   whole-layer schedule's gain on an open link (big image 45.8 s vs 58.9 s with 20 x 16 MiB and 60.8 s stock).
 * - Downloads: 8 per image up to 8 vCPUs, one per vCPU above, at most 20 (a bigger instance has more bandwidth to fill:
 *   AWS's S3 guidance is one connection per 85–90 MB/s; not measured above 1 Gbit/s), twice that across images.
 * - Unpacks are CPU-bound (gzip) and disk-bound: one per vCPU, 2 to 12 per image (at least 2, so one layer unpacks
 *   while the next downloads; the AMI uses 12), twice that across images.
 * - Chunks: 64 MiB on every size (SOCI writes each chunk to the layer's file as it arrives: memory does not grow with
 *   the chunk).
 */
export function parallelTuning(instance: Pick<InstanceFacts, "vcpus" | "memoryMiB">): ParallelTuning {
  const perImageDownloads = clamp(instance.vcpus, 8, 20);
  const perImageUnpacks = clamp(instance.vcpus, 2, 12);
  return {
    maxConcurrentDownloads: perImageDownloads * 2,
    maxConcurrentDownloadsPerImage: perImageDownloads,
    chunkSize: "64mb",
    maxConcurrentUnpacks: perImageUnpacks * 2,
    maxConcurrentUnpacksPerImage: perImageUnpacks,
  };
}

/** Whether a release knows `experimental_parallel_pull_as_fallback`. */
export function supportsParallelFallback(version: string): boolean {
  return compareVersions(version, PARALLEL_FALLBACK_SINCE) >= 0;
}

/**
 * Where SOCI keeps its artifacts (SOCI indexes, zTOCs, layers it unpacks itself).
 * - lazy: `soci` (SOCI's own default, /var/lib/soci-snapshotter-grpc/content). In containerd's content store
 *   these artifacts are unreferenced between commit and labelling, and containerd's garbage collector deletes
 *   them under load: the layer is then fetched whole (lab/FINDINGS.md, "Lazy pulls degrade under containerd GC").
 *   SOCI never deletes from its own store; our soci-store-gc timer does (userdata/scripts/soci-store-gc.sh).
 * - parallel: `containerd`, as the AMI's FastImagePull does; this mode fetches no SOCI artifacts.
 * Both are allowed with parallel pull because `discard_unpacked_layers = true` (soci-snapshotter v0.16.1 fs/fs.go).
 * `containerd_address` is set either way: SOCI also reads image manifests from containerd through it.
 */
export function sociContentStore(mode: Exclude<SociMode, "off">): "soci" | "containerd" {
  return mode === "lazy" ? "soci" : "containerd";
}

/**
 * SOCI's resolve cache (`resolve_result_entry`, a top-level key): how many resolved layers SOCI keeps. Each mount
 * pre-resolves every other indexed layer of the image (soci-snapshotter v0.16.1 fs/fs.go ~1114–1145); with SOCI's
 * default of 30 (fs/layer/layer.go ~82) a 32-layer image evicts layers it is about to mount, resolves them again with a
 * fresh span cache and prefetches their files again (the bench's big image: 40–49 resolve misses and 180–204 MB served
 * with prefetch, against exactly 32 misses and 160.85 MB with 128). 128 covers the 127 layers an image can have
 * (Docker's and overlayfs' practical limit), with room for a second image pulled at the same time.
 */
export const SOCI_RESOLVE_RESULT_ENTRY = 128;

/**
 * The soci-snapshotter-grpc configuration (written to `/etc/soci-eks/soci-snapshotter-grpc.toml`, see paths.ts SOCI_CONFIG) as a plain object.
 * Pull modes are set explicitly rather than left to defaults (a config without them was seen to give no lazy mounts).
 */
export function sociDaemonConfig(
  mode: Exclude<SociMode, "off">,
  version: string,
  instance: Pick<InstanceFacts, "vcpus" | "memoryMiB">,
): Record<string, unknown> {
  const tuning = parallelTuning(instance);
  const lazy = mode === "lazy";
  const parallel: Record<string, unknown> = {
    enable: !lazy,
    max_concurrent_downloads: tuning.maxConcurrentDownloads,
    max_concurrent_downloads_per_image: tuning.maxConcurrentDownloadsPerImage,
    concurrent_download_chunk_size: tuning.chunkSize,
    max_concurrent_unpacks: tuning.maxConcurrentUnpacks,
    max_concurrent_unpacks_per_image: tuning.maxConcurrentUnpacksPerImage,
    discard_unpacked_layers: true,
    decompress_streams: { gzip: { path: "/usr/bin/unpigz", args: ["-d", "-c"] } },
  };
  if (lazy && supportsParallelFallback(version)) {
    // Indexed images load lazily; images without an index get a parallel full pull.
    parallel.experimental_parallel_pull_as_fallback = true;
  }
  // Lazy mode only. Top-level keys: smol-toml writes them before the first table, where SOCI reads them (a top-level
  // key written after a table belongs to that table and SOCI ignores it without an error).
  const lazyTopLevel: Record<string, unknown> = lazy ? { resolve_result_entry: SOCI_RESOLVE_RESULT_ENTRY } : {};
  // Lazy mode only: fetch the spans an index lists as prefetch artifacts (`soci convert --prefetch-file`, the index
  // builder's recorded or listed files) while the layer is set up, instead of one span per first read. An index
  // without prefetch artifacts is loaded as before (fs/layer/layer.go executePrefetch returns early).
  // Releases before 0.13.0 have no [prefetch] table.
  const lazyTables: Record<string, unknown> = lazy && compareVersions(version, PREFETCH_SINCE) >= 0 ? { prefetch: { enable: true } } : {};
  return {
    ...lazyTopLevel,
    // soci_fs_operation_count{operation_type="fuse_mount_failure_count"} counts layers that could not be
    // lazy-loaded although the image has a SOCI index (docs/troubleshooting.md).
    metrics_address: SOCI_METRICS_SOCKET,
    metrics_network: "unix",
    pull_modes: {
      soci_v1: { enable: false },
      soci_v2: { enable: lazy },
      parallel_pull_unpack: parallel,
    },
    content_store: { type: sociContentStore(mode), containerd_address: CONTAINERD_SOCKET },
    // Kubelet sends pull credentials through SOCI's image-service proxy (any registry, imagePullSecrets).
    cri_keychain: { enable_keychain: true, image_service_path: CONTAINERD_SOCKET },
    ...lazyTables,
  };
}

/** The SOCI daemon config as TOML text. */
export function renderSociDaemonConfig(
  mode: Exclude<SociMode, "off">,
  version: string,
  instance: Pick<InstanceFacts, "vcpus" | "memoryMiB">,
): string {
  return `# Written by soci-eks. Mode: ${mode}.\n${stringify(sociDaemonConfig(mode, version, instance))}\n`;
}
