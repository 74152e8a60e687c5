import { ConfigProblem } from "./problems";

/** One Kubernetes minor version's support window on Amazon EKS (UTC dates). */
export interface EksVersionSupport {
  /** `1.35` */
  version: string;
  /** Last day of standard support (extended support starts the next day). */
  endOfStandardSupport: string;
  /** Last day of extended support; the version cannot be created after it. */
  endOfExtendedSupport: string;
}

/**
 * The EKS release calendar, as checked on 2026-11-23.
 * Sources: the Amazon EKS User Guide "Understand the Kubernetes version lifecycle on EKS"
 * (kubernetes-versions.adoc, calendar table: 1.29–1.34) and endoflife.date/amazon-eks (1.35).
 * 1.36 (EKS release 2026-06-02) comes from a secondary source (devopsdreams.blogspot.com, 2026-08);
 * its dates follow EKS's rule of 14 months standard + 12 months extended support.
 * Update this table when EKS adds a version: an unknown version is rejected.
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

/** Where a version stands on a given day. */
export type VersionStatus = "standard" | "extended" | "ended" | "unknown";

/** `YYYY-MM-DD` of a date in UTC. */
function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The support status of a Kubernetes minor version on `today`. */
export function eksVersionStatus(version: string, today: Date): { status: VersionStatus; entry?: EksVersionSupport } {
  const entry = EKS_VERSION_CALENDAR.find((e) => e.version === version);
  if (!entry) return { status: "unknown" };
  const day = isoDay(today);
  if (day <= entry.endOfStandardSupport) return { status: "standard", entry };
  if (day <= entry.endOfExtendedSupport) return { status: "extended", entry };
  return { status: "ended", entry };
}

/** Versions that can still be created on `today`, oldest first. */
export function creatableVersions(today: Date): string[] {
  return EKS_VERSION_CALENDAR.filter((e) => eksVersionStatus(e.version, today).status !== "ended").map((e) => e.version);
}

/** Problems and warnings for a Kubernetes version setting. */
export interface VersionCheck {
  problems: ConfigProblem[];
  warnings: string[];
}

/**
 * Checks a Kubernetes minor version (`1.35`): malformed, unknown to EKS, or past end of extended support are
 * problems; extended support (extra cost per cluster hour) is a warning.
 */
export function checkKubernetesVersion(setting: string, version: string, today: Date): VersionCheck {
  const supported = creatableVersions(today);
  const fix = `Set ${setting} to one of ${supported.join(", ")} (default ${DEFAULT_KUBERNETES_VERSION}).`;
  if (!/^1\.\d{1,3}$/.test(version)) {
    const hint = /^v?1\.\d+\.\d+$/.test(version) || version.startsWith("v") ? " (a minor version such as 1.35: no leading v, no patch)" : "";
    return { problems: [{ setting, value: version, reason: `is not a Kubernetes minor version${hint}`, fix }], warnings: [] };
  }
  const { status, entry } = eksVersionStatus(version, today);
  switch (status) {
    case "unknown":
      return { problems: [{ setting, value: version, reason: "is not a version Amazon EKS offers (per the release calendar soci-eks knows)", fix }], warnings: [] };
    case "ended":
      return {
        problems: [{ setting, value: version, reason: `reached end of extended support on ${entry!.endOfExtendedSupport}; EKS no longer creates it`, fix }],
        warnings: [],
      };
    case "extended":
      return {
        problems: [],
        warnings: [
          `${setting}: Kubernetes ${version} is in EKS extended support until ${entry!.endOfExtendedSupport} ` +
            `(standard support ended ${entry!.endOfStandardSupport}); extended support costs extra per cluster hour. ` +
            `Consider ${supported[supported.length - 1]}.`,
        ],
      };
    case "standard":
      return { problems: [], warnings: [] };
  }
}
