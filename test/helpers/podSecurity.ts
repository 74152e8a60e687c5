/**
 * The Kubernetes Pod Security Standards' `restricted` profile (which includes `baseline`), checked on a pod spec as
 * the admission controller checks it (https://kubernetes.io/docs/concepts/security/pod-security-standards/, v1.33).
 * Returns one line per violation; empty means the pod would be admitted into a namespace that enforces `restricted`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const RESTRICTED_VOLUME_TYPES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
const BASELINE_CAPABILITIES = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

export function restrictedViolations(pod: Obj): string[] {
  const out: string[] = [];
  const psc: Obj = pod.securityContext ?? {};
  for (const host of ["hostNetwork", "hostPID", "hostIPC"]) if (pod[host] === true) out.push(`${host} is true`);
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (!type || !RESTRICTED_VOLUME_TYPES.includes(type)) out.push(`volume ${v.name} is of type ${type}`);
  }
  if (psc.seccompProfile?.type === "Unconfined") out.push("pod seccompProfile is Unconfined");
  const containers: Obj[] = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  for (const c of containers) {
    const sc: Obj = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if (sc.privileged === true) out.push(`${at} is privileged`);
    if (sc.windowsOptions?.hostProcess === true) out.push(`${at} is a host process`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${at} uses hostPort ${p.hostPort}`);
    if (sc.procMount !== undefined && sc.procMount !== "Default") out.push(`${at} procMount ${sc.procMount}`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at} does not set allowPrivilegeEscalation: false`);
    const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (runAsNonRoot !== true) out.push(`${at} does not run as non-root`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push(`${at} runs as uid 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") out.push(`${at} has seccomp ${seccomp ?? "unset"}`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) out.push(`${at} does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? []) {
      if (cap !== "NET_BIND_SERVICE") out.push(`${at} adds capability ${cap}${BASELINE_CAPABILITIES.includes(cap) ? "" : " (not even baseline)"}`);
    }
  }
  return out;
}
