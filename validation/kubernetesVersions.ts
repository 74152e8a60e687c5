import { ConfigProblem } from "./problems";

/** Where a Kubernetes minor version stands on Amazon EKS. */
export type VersionStatus = "standard" | "extended" | "ended";

/** One Kubernetes minor version as a {@link KubernetesVersionCatalog} knows it. */
export interface EksVersionInfo {
  /** `1.35` */
  version: string;
  /** Standard support, extended support (extra cost), or no longer created by EKS. */
  status: VersionStatus;
  /** Last day of standard support (`YYYY-MM-DD`), when known. */
  endOfStandardSupport?: string;
  /** Last day of extended support (`YYYY-MM-DD`), when known. */
  endOfExtendedSupport?: string;
}

/**
 * The Kubernetes versions a check runs against.
 * - `eks`: EKS's own list (`aws.eks.getClusterVersions`): authoritative. A version it does not list is refused,
 *   a version newer than anything soci-eks knows is accepted when EKS lists it.
 * - `built-in`: {@link EKS_VERSION_CALENDAR} evaluated on a given day, where there is no AWS access. A version newer
 *   than the table is a warning (EKS itself decides at create time), not an error.
 */
export interface KubernetesVersionCatalog {
  source: "eks" | "built-in";
  versions: readonly EksVersionInfo[];
}

/** One Kubernetes minor version's support window on Amazon EKS (UTC dates). */
export interface EksVersionSupport {
  /** `1.35` */
  version: string;
  /** Last day of standard support (extended support starts the next day). */
  endOfStandardSupport: string;
  /** Last day of extended support; the version cannot be created after it. */
  endOfExtendedSupport: string;
}

/** The day {@link EKS_VERSION_CALENDAR} was last checked. */
export const EKS_VERSION_CALENDAR_CHECKED = "2026-11-23";

/**
 * The built-in EKS release calendar, used only where EKS's own list (`aws.eks.getClusterVersions`) cannot be read:
 * a component constructed without `kubernetesVersions` (see `SociCluster.create`, which looks them up).
 * Checked on {@link EKS_VERSION_CALENDAR_CHECKED}. Sources: the Amazon EKS User Guide "Understand the Kubernetes
 * version lifecycle on EKS" (calendar table: 1.29–1.34) and endoflife.date/amazon-eks (1.35). 1.36 (EKS release
 * 2026-06-02) comes from a secondary source; its dates follow EKS's rule of 14 months standard + 12 months
 * extended support. A version newer than this table is a warning, not an error.
 */
export const EKS_VERSION_CALENDAR: readonly EksVersionSupport[] = [
  { version: "1.29", endOfStandardSupport: "2025-03-23", endOfExtendedSupport: "2026-03-23" },
  { version: "1.30", endOfStandardSupport: "2025-07-23", endOfExtendedSupport: "2026-07-23" },
  { version: "1.31", endOfStandardSupport: "2025-11-26", endOfExtendedSupport: "2026-11-26" },
  { version: "1.32", endOfStandardSupport: "2026-03-23", endOfExtendedSupport: "2027-03-23" },
  { version: "1.33", endOfStandardSupport: "2026-07-29", endOfExtendedSupport: "2027-07-29" },
  { version: "1.34", endOfStandardSupport: "2026-12-02", endOfExtendedSupport: "2027-12-02" },
  { version: "1.35", endOfStandardSupport: "2027-03-27", endOfExtendedSupport: "2028-03-27" },
  { version: "1.36", endOfStandardSupport: "2027-08-02", endOfExtendedSupport: "2028-08-02" },
];

/** The default cluster version: the newest with the longest runway that the AL2023 FastImagePull path and our tests cover. */
export const DEFAULT_KUBERNETES_VERSION = "1.35";

/** `YYYY-MM-DD` of a date in UTC. */
function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The built-in calendar evaluated on `today` (the only date-dependent function here: callers pass the day in). */
export function builtInVersionCatalog(today: Date): KubernetesVersionCatalog {
  const day = isoDay(today);
  return {
    source: "built-in",
    versions: EKS_VERSION_CALENDAR.map((e) => ({
      ...e,
      status: day <= e.endOfStandardSupport ? "standard" : day <= e.endOfExtendedSupport ? "extended" : "ended",
    })),
  };
}

/** One entry of `aws.eks.getClusterVersions` (the fields soci-eks reads). */
export interface EksClusterVersionEntry {
  clusterVersion: string;
  /** `STANDARD_SUPPORT`, `EXTENDED_SUPPORT` or `UNSUPPORTED`. */
  versionStatus: string;
  endOfStandardSupportDate?: string;
  endOfExtendedSupportDate?: string;
}

/** EKS's version list as a catalog. A status other than standard or extended support counts as ended. */
export function eksVersionCatalog(entries: readonly EksClusterVersionEntry[]): KubernetesVersionCatalog {
  const status = (s: string): VersionStatus => (s === "STANDARD_SUPPORT" ? "standard" : s === "EXTENDED_SUPPORT" ? "extended" : "ended");
  const day = (d?: string) => (d ? d.slice(0, 10) : undefined);
  return {
    source: "eks",
    versions: entries.map((e) => ({
      version: e.clusterVersion,
      status: status(e.versionStatus),
      endOfStandardSupport: day(e.endOfStandardSupportDate),
      endOfExtendedSupport: day(e.endOfExtendedSupportDate),
    })),
  };
}

/** Orders `1.9` before `1.10`. */
function compareMinor(a: string, b: string): number {
  const [, am] = a.split(".").map(Number);
  const [, bm] = b.split(".").map(Number);
  return am - bm;
}

/** Versions that can still be created, oldest first. */
export function creatableVersions(catalog: KubernetesVersionCatalog): string[] {
  return catalog.versions.filter((v) => v.status !== "ended").map((v) => v.version).sort(compareMinor);
}

/** Problems and warnings for a Kubernetes version setting. */
export interface VersionCheck {
  problems: ConfigProblem[];
  warnings: string[];
}

/**
 * Checks a Kubernetes minor version (`1.35`) against a catalog: malformed, not offered, or past end of extended
 * support are problems; extended support (extra cost per cluster hour) is a warning; with the built-in catalog a
 * version newer than the table is a warning.
 */
export function checkKubernetesVersion(setting: string, version: string, catalog: KubernetesVersionCatalog): VersionCheck {
  const supported = creatableVersions(catalog);
  const newest = supported[supported.length - 1];
  const fix = `Set ${setting} to one of ${supported.join(", ")} (default ${DEFAULT_KUBERNETES_VERSION}).`;
  const problem = (reason: string): VersionCheck => ({ problems: [{ setting, value: version, reason, fix }], warnings: [] });
  if (!/^1\.\d{1,3}$/.test(version)) {
    const hint = /^v?1\.\d+\.\d+$/.test(version) || version.startsWith("v") ? " (a minor version such as 1.35: no leading v, no patch)" : "";
    return problem(`is not a Kubernetes minor version${hint}`);
  }
  const entry = catalog.versions.find((v) => v.version === version);
  if (!entry) {
    if (catalog.source === "eks") return problem("is not a version Amazon EKS lists (aws.eks.getClusterVersions)");
    const known = catalog.versions.map((v) => v.version).sort(compareMinor);
    if (known.length > 0 && compareMinor(version, known[known.length - 1]) > 0) {
      return {
        problems: [],
        warnings: [
          `${setting}: Kubernetes ${version} is newer than soci-eks's built-in EKS calendar (checked ${EKS_VERSION_CALENDAR_CHECKED}); ` +
            `EKS decides whether it exists when the cluster is created. SociCluster.create checks it against EKS's own list.`,
        ],
      };
    }
    return problem(`is not a version Amazon EKS offers (per soci-eks's built-in calendar, checked ${EKS_VERSION_CALENDAR_CHECKED})`);
  }
  switch (entry.status) {
    case "ended":
      return problem(
        entry.endOfExtendedSupport
          ? `reached end of extended support on ${entry.endOfExtendedSupport}; EKS no longer creates it`
          : "is no longer supported by EKS; EKS no longer creates it",
      );
    case "extended": {
      const until = entry.endOfExtendedSupport ? ` until ${entry.endOfExtendedSupport}` : "";
      const ended = entry.endOfStandardSupport ? ` (standard support ended ${entry.endOfStandardSupport})` : "";
      return {
        problems: [],
        warnings: [`${setting}: Kubernetes ${version} is in EKS extended support${until}${ended}; extended support costs extra per cluster hour. Consider ${newest}.`],
      };
    }
    case "standard":
      return { problems: [], warnings: [] };
  }
}
